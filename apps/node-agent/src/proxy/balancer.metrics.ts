/**
 * The balancer's per-service metrics in the agent's Prometheus registry: requests by status code,
 * their latency histogram, connections. The hot path only adds to plain numbers in preallocated
 * arrays (one per service and code); the Prometheus series are built when /metrics is scraped, so
 * a request costs no label hashing. The balancer runs in a process of its own (balancer/): the
 * agent's BalancerMetrics is given it as `remote`, and its counts come over the channel as plain
 * snapshots when /metrics is scraped or usage is reported.
 */
import { Registry } from 'prom-client';
import { LATENCY_BOUNDS_SECONDS as LATENCY_BUCKETS } from '@tide/api';

/** Code for a request whose answer was cut short (the backend died mid-response). */
export const ABORTED = 0;
/** A client that went away before its answer, as nginx logs it. */
export const CLIENT_CLOSED = 499;

class CodeStats {
  count = 0;
  sum = 0;
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length);
}

/** What one service's published port carried on this node. */
export class ServiceTraffic {
  readonly codes = new Map<number, CodeStats>();
  connections = 0;
  /** Connection attempts to a backend that failed (each was retried on another when possible). */
  backendFailures = 0;
  /** HTTP requests waiting now in the queues of the service's ports for a replica with room. */
  queued = 0;
  /** HTTP requests answered 503 at once because the queue was full. */
  queueFull = 0;
  /**
   * HTTP requests whose head arrived (counted then, not at their answer): the demand. Under
   * overload answers come at the rate the replicas serve and a backlog's requests are counted
   * only when they end, so a rate of answers would hide the load still waiting.
   */
  arrived = 0;
  /** HTTP requests the balancer answered (503 or 504) at their deadline. */
  deadlineExpired = 0;

  constructor(readonly service: string) {}

  /** The counts as plain data, for the channel to the agent. */
  snapshot(): TrafficSnapshot {
    const { service, connections, backendFailures, queued, queueFull, arrived, deadlineExpired } = this;
    const codes = [...this.codes].map(([code, stats]) => ({ code, count: stats.count, sum: stats.sum, buckets: [...stats.buckets] }));
    return { service, codes, connections, backendFailures, queued, queueFull, arrived, deadlineExpired };
  }

  /** Adds another record of the same service (a snapshot off the channel) to this one. */
  add(other: TrafficSnapshot): void {
    for (const { code, count, sum, buckets } of other.codes) {
      let stats = this.codes.get(code);
      if (!stats) this.codes.set(code, (stats = new CodeStats()));
      stats.count += count;
      stats.sum += sum;
      buckets.slice(0, stats.buckets.length).forEach((n, i) => (stats.buckets[i] += n));
    }
    this.connections += other.connections;
    this.backendFailures += other.backendFailures;
    this.queued += other.queued;
    this.queueFull += other.queueFull;
    this.arrived += other.arrived;
    this.deadlineExpired += other.deadlineExpired;
  }

  request(code: number, seconds: number): void {
    let stats = this.codes.get(code);
    if (!stats) this.codes.set(code, (stats = new CodeStats()));
    stats.count++;
    stats.sum += seconds;
    const buckets = LATENCY_BUCKETS;
    for (let i = 0; i < buckets.length; i++) {
      if (seconds <= buckets[i]) {
        stats.buckets[i]++;
        break;
      }
    }
  }
}

/** A ServiceTraffic as plain data (what the balancer process answers the agent's `traffic` request with). */
export interface TrafficSnapshot {
  service: string;
  codes: { code: number; count: number; sum: number; buckets: number[] }[];
  connections: number;
  backendFailures: number;
  queued: number;
  queueFull: number;
  arrived: number;
  deadlineExpired: number;
}

/** Where the counts of another process's balancer come from (balancer/balancer.client.ts). */
export interface RemoteTraffic {
  /** The other balancer's counts now; its last known ones when it cannot answer. */
  traffic(): Promise<TrafficSnapshot[]>;
}

/** How long a fetched remote snapshot serves (a scrape asks once per metric family). */
const REMOTE_FRESH_MS = 100;

interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

export class BalancerMetrics {
  private readonly services = new Map<string, ServiceTraffic>();
  private remoteTraffic: TrafficSnapshot[] = [];
  private remoteFetch?: { at: number; done: Promise<void> };

  constructor(private readonly remote?: RemoteTraffic) {}

  /** Every service's counts as plain data (the balancer process's answer to the agent). */
  snapshots(): TrafficSnapshot[] {
    return [...this.services.values()].map((t) => t.snapshot());
  }

  /** Fetches the remote balancer's counts, at most once per REMOTE_FRESH_MS (callers share a fetch in flight). */
  async refresh(): Promise<void> {
    if (!this.remote) return;
    const now = performance.now();
    if (!this.remoteFetch || now - this.remoteFetch.at > REMOTE_FRESH_MS) {
      const done = this.remote.traffic().then((traffic) => void (this.remoteTraffic = traffic));
      this.remoteFetch = { at: now, done };
    }
    await this.remoteFetch.done;
  }

  /** The traffic record of a service ("namespace/name"), kept across listener changes. */
  service(name: string): ServiceTraffic {
    let traffic = this.services.get(name);
    if (!traffic) this.services.set(name, (traffic = new ServiceTraffic(name)));
    return traffic;
  }

  /**
   * Every HTTP request each service's published ports took on this node, counted as it arrives,
   * whatever its answer and whether it has one yet (the autoscaler's request rate: the load that
   * arrived, not the load served; usage.reporter.ts pushes it), and the answered ones by latency
   * (the dashboard's p99).
   */
  serviceRequests(): { namespace: string; service: string; requests: number; latencyCounts: number[] }[] {
    const out = [];
    for (const traffic of this.combined()) {
      const [namespace, service] = splitService(traffic.service);
      out.push({ namespace, service, requests: traffic.arrived, latencyCounts: latencyCounts(traffic) });
    }
    return out;
  }

  register(registry: Registry): void {
    const metric = (name: string, help: string, type: string, values: (services: ServiceTraffic[]) => Sample[]) => ({
      name, help, type, aggregator: 'sum', get: async () => {
        await this.refresh();
        return { name, help, type, aggregator: 'sum', values: values(this.combined()) };
      },
    });
    registry.registerMetric(metric('tide_http_requests_total', 'HTTP requests through this node\'s balancer, by namespace, service and status code (0: cut short, 499: the client went away; the balancer\'s own 503 and 504 included)', 'counter',
      (services) => perCode(services, (service, code, stats) => {
        const [namespace, name] = splitService(service);
        return [{ labels: { namespace, service: name, code }, value: stats.count }];
      })) as never);
    registry.registerMetric(metric('tide_lb_requests_total', 'HTTP requests through this node\'s load balancer, by service and status code (0: cut short)', 'counter',
      (services) => perCode(services, (service, code, stats) => [{ labels: { service, code }, value: stats.count }])) as never);
    registry.registerMetric(metric('tide_lb_request_duration_seconds', 'Time from a request\'s head to the end of its answer, by service and status code', 'histogram',
      (services) => perCode(services, histogramSamples('tide_lb_request_duration_seconds'))) as never);
    registry.registerMetric(metric('tide_lb_connections_total', 'Client connections accepted by this node\'s load balancer, by service', 'counter',
      (services) => services.map((t) => ({ labels: { service: t.service }, value: t.connections }))) as never);
    registry.registerMetric(metric('tide_lb_backend_failures_total', 'Connections to a replica that failed before an answer (retried elsewhere when safe)', 'counter',
      (services) => services.map((t) => ({ labels: { service: t.service }, value: t.backendFailures }))) as never);
    registry.registerMetric(metric('tide_lb_queued_requests', 'HTTP requests waiting in this node\'s balancer for a replica with room, by service', 'gauge',
      (services) => services.map((t) => ({ labels: { service: t.service }, value: t.queued }))) as never);
    registry.registerMetric(metric('tide_lb_overload_rejections_total', 'HTTP requests the balancer answered itself under overload, by service and reason (queue_full: 503 at once; deadline: 503 or 504 at the request deadline)', 'counter',
      (services) => services.flatMap((t) => [
        { labels: { service: t.service, reason: 'queue_full' }, value: t.queueFull },
        { labels: { service: t.service, reason: 'deadline' }, value: t.deadlineExpired },
      ])) as never);
  }

  /** This process's records, or those of the remote balancer, as last fetched. */
  private combined(): ServiceTraffic[] {
    if (!this.remote) return [...this.services.values()];
    return this.remoteTraffic.map((snapshot) => {
      const traffic = new ServiceTraffic(snapshot.service);
      traffic.add(snapshot);
      return traffic;
    });
  }
}

function perCode(services: ServiceTraffic[], samples: (service: string, code: number, stats: CodeStats) => Sample[]): Sample[] {
  const out: Sample[] = [];
  for (const traffic of services) {
    for (const [code, stats] of traffic.codes) out.push(...samples(traffic.service, code, stats));
  }
  return out;
}

/** The answered requests of every code by latency bucket, and those above the last bound (ServiceRequestCount.latencyCounts). */
function latencyCounts(traffic: ServiceTraffic): number[] {
  const counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  for (const stats of traffic.codes.values()) {
    let bucketed = 0;
    stats.buckets.forEach((count, i) => {
      counts[i] += count;
      bucketed += count;
    });
    counts[LATENCY_BUCKETS.length] += stats.count - bucketed;
  }
  return counts;
}

/** "namespace/name" → [namespace, name]. */
function splitService(service: string): [string, string] {
  const slash = service.indexOf('/');
  return slash < 0 ? ['', service] : [service.slice(0, slash), service.slice(slash + 1)];
}

function histogramSamples(name: string) {
  return (service: string, code: number, stats: CodeStats): Sample[] => {
    const out: Sample[] = [];
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += stats.buckets[i];
      out.push({ metricName: `${name}_bucket`, labels: { service, code, le }, value: cumulative });
    });
    out.push({ metricName: `${name}_bucket`, labels: { service, code, le: '+Inf' }, value: stats.count });
    out.push({ metricName: `${name}_sum`, labels: { service, code }, value: stats.sum });
    out.push({ metricName: `${name}_count`, labels: { service, code }, value: stats.count });
    return out;
  };
}
