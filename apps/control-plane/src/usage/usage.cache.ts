/**
 * The agents' usage samples (NodeUsageReport, about one per node per second), kept in memory: a few
 * seconds of cumulative CPU counters per replica, from which CPU rates are computed over a window,
 * and the latest memory figures, and each node balancer's cumulative request count per service.
 * `tsctl top` and the dashboard read it through the API; the leader's autoscaler reads `cpuCores()` and
 * `requestRate()` each second (and `cpuCounter()` for the metrics-server emulation of `hpa-default`);
 * the dashboard's service history (ui/service.history.ts) reads `latencyQuantile()`.
 * With several control planes each records the reports of the agents connected to it and forwards
 * them to the others (usage.forwarder.ts), which record them here too: every instance holds every
 * agent's samples. `fullReport()` renders a node's held set for a peer that lacks it.
 *
 * A replica's figures are kept as runs: a sample is added only when they change, and every replica
 * of a node's set is known to keep its newest figures up to the node's latest report. That is what
 * lets an agent send only the samples that changed (a delta report): a replica absent from one is
 * unchanged as of its timestamp, at no cost here.
 */
import {
  histogramQuantile, LATENCY_BOUNDS_SECONDS, NodeUsage, NodeUsageReport, ReplicaUsage, ReplicaUsageSample, ServiceRequestCount, UsageReportAck,
} from '@tide/api';

interface Sample {
  /** The report that first gave these figures (agent clock). */
  atMs: number;
  /** The last report that still gave them, once a newer sample follows (the newest holds up to the node's latest report). */
  untilMs: number;
  cpuSeconds: number;
  workingSet: number;
  usage: number;
}

interface ReplicaSeries {
  namespace: string;
  name: string;
  startedAt: string;
  samples: Sample[];
}

interface CounterSample {
  atMs: number;
  total: number;
  /** Answered requests by latency bucket (ServiceRequestCount.latencyCounts), when the agent sends them. */
  latency?: number[];
}

interface NodeEntry {
  receivedAtMs: number;
  /** The timestamp of the node's latest report: every replica's newest sample holds up to it. */
  reportedAtMs: number;
  replicas: Map<string, ReplicaSeries>;
  /** "namespace/service" → request counter samples of this node's balancer. */
  services: Map<string, CounterSample[]>;
}

export interface UsageCacheOptions {
  /** Samples kept per replica (by the agent's clock). */
  retainMs?: number;
  /** A node that has not reported for this long is left out (its agent is gone or cut off). */
  staleMs?: number;
  now?: () => number;
}

export const DEFAULT_WINDOW_MS = 5000;

export class UsageCache {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly retainMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  constructor(options: UsageCacheOptions = {}) {
    this.retainMs = options.retainMs ?? 15_000;
    this.staleMs = options.staleMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /**
   * A full report replaces the node's set of replicas (one no longer reported stopped running there);
   * a delta changes the samples it carries and drops its gone replicas, on the set held. A delta
   * without a set to apply to (this instance never had the node's, or lost it, or the agent's clock
   * went back) is not recorded: the answer asks the agent for a full report.
   */
  record(report: NodeUsageReport): UsageReportAck {
    const previous = this.nodes.get(report.nodeName);
    const atMs = report.timestampMs;
    const base = previous && previous.reportedAtMs < atMs ? previous : undefined;
    if (report.delta && !base) return { holdsFullSet: false };
    const replicas = report.delta ? base!.replicas : new Map<string, ReplicaSeries>();
    for (const key of report.gone ?? []) replicas.delete(key);
    for (const r of report.replicas) {
      const key = `${r.namespace}/${r.name}`;
      replicas.set(key, this.withSample(base?.replicas.get(key), r, atMs, base?.reportedAtMs));
    }
    const services = new Map<string, CounterSample[]>();
    for (const counter of report.services) {
      const key = `${counter.namespace}/${counter.service}`;
      // The counter's own time: the CPU sample's may be older by its cache age and reads.
      const countedAt = counter.countedAtMs ?? atMs;
      const kept = (previous?.services.get(key) ?? []).filter((c) => c.atMs < countedAt && c.atMs >= countedAt - this.retainMs && c.total <= counter.requestsTotal);
      services.set(key, [...kept, { atMs: countedAt, total: counter.requestsTotal, ...(counter.latencyCounts ? { latency: counter.latencyCounts } : {}) }]);
    }
    this.nodes.set(report.nodeName, { receivedAtMs: this.now(), reportedAtMs: atMs, replicas, services });
    return { holdsFullSet: true };
  }

  /**
   * The node's held set as one full report, as the agent would send it at its latest report: every
   * replica's newest figures and every service's newest count. For a peer that lacks the node's set
   * (usage.forwarder.ts): the deltas that follow apply to it. Undefined when the node is not held
   * (never reported, or gone quiet). The peer gets no history: its CPU rates start at the next report.
   */
  fullReport(nodeName: string): NodeUsageReport | undefined {
    const entry = this.nodes.get(nodeName);
    if (!entry || this.now() - entry.receivedAtMs > this.staleMs) return undefined;
    const replicas = [...entry.replicas.values()].map((series): ReplicaUsageSample => {
      const newest = series.samples[series.samples.length - 1];
      return {
        namespace: series.namespace, name: series.name, cpuUsageSeconds: newest.cpuSeconds,
        memoryWorkingSetBytes: newest.workingSet, memoryUsageBytes: newest.usage, startedAt: series.startedAt,
      };
    });
    const services = [...entry.services].map(([key, samples]): ServiceRequestCount => {
      const newest = samples[samples.length - 1];
      const slash = key.indexOf('/');
      return {
        namespace: key.slice(0, slash), service: key.slice(slash + 1), requestsTotal: newest.total, countedAtMs: newest.atMs,
        ...(newest.latency ? { latencyCounts: [...newest.latency] } : {}),
      };
    });
    return { nodeName, timestampMs: entry.reportedAtMs, replicas, services };
  }

  /**
   * The series with the report's sample: the same figures extend the newest run (nothing is added);
   * other figures close it at the node's previous report and start a new one. A restarted container
   * counts from 0 again: its earlier samples say nothing about the new one.
   */
  private withSample(old: ReplicaSeries | undefined, r: ReplicaUsageSample, atMs: number, previousReportMs: number | undefined): ReplicaSeries {
    const sample: Sample = { atMs, untilMs: atMs, cpuSeconds: r.cpuUsageSeconds, workingSet: r.memoryWorkingSetBytes, usage: r.memoryUsageBytes };
    if (!old || old.startedAt !== r.startedAt || previousReportMs === undefined) return { namespace: r.namespace, name: r.name, startedAt: r.startedAt, samples: [sample] };
    const newest = old.samples[old.samples.length - 1];
    if (newest.cpuSeconds === sample.cpuSeconds && newest.workingSet === sample.workingSet && newest.usage === sample.usage) return old;
    newest.untilMs = previousReportMs;
    old.samples = old.samples.filter((s) => s.untilMs >= atMs - this.retainMs);
    old.samples.push(sample);
    return old;
  }

  /**
   * Requests per second the service's balancers answered together over (at most) the window, each
   * node's rate on its own clock; undefined while no node has two samples of it. A counter that went
   * down (the agent restarted) starts over: samples above the new value were dropped on record.
   */
  requestRate(namespace: string, service: string, windowMs = DEFAULT_WINDOW_MS): number | undefined {
    let total: number | undefined;
    for (const [oldest, newest] of this.counterWindows(namespace, service, windowMs)) {
      total = (total ?? 0) + (newest.total - oldest.total) / ((newest.atMs - oldest.atMs) / 1000);
    }
    return total;
  }

  /**
   * The q-quantile, in seconds, of the latencies of the requests the service's balancers answered
   * over (at most) the window, every node's histogram added up (the dashboard's p99); undefined
   * while none was answered in it, or no node sends latencies.
   */
  latencyQuantile(namespace: string, service: string, q: number, windowMs = DEFAULT_WINDOW_MS): number | undefined {
    const counts = new Array<number>(LATENCY_BOUNDS_SECONDS.length + 1).fill(0);
    for (const [oldest, newest] of this.counterWindows(namespace, service, windowMs)) {
      if (!oldest.latency || newest.latency?.length !== counts.length) continue;
      newest.latency.forEach((count, i) => (counts[i] += Math.max(0, count - (oldest.latency![i] ?? 0))));
    }
    return histogramQuantile(q, LATENCY_BOUNDS_SECONDS, counts);
  }

  /** Per fresh node with two samples of the service's counter: the oldest within the window before the newest, and the newest. */
  private *counterWindows(namespace: string, service: string, windowMs: number): Generator<[CounterSample, CounterSample]> {
    for (const [, entry] of this.freshNodes()) {
      const samples = entry.services.get(`${namespace}/${service}`);
      if (!samples || samples.length < 2) continue;
      const newest = samples[samples.length - 1];
      const oldest = samples.find((c) => c.atMs >= newest.atMs - windowMs && c.atMs < newest.atMs);
      if (oldest) yield [oldest, newest];
    }
  }

  /** Every replica with a fresh sample; CPU is the rate over (at most) the last windowMs. */
  replicaUsage(windowMs = DEFAULT_WINDOW_MS): ReplicaUsage[] {
    const out: ReplicaUsage[] = [];
    for (const [node, entry] of this.freshNodes()) {
      for (const series of entry.replicas.values()) out.push(usageOf(node, series, entry.reportedAtMs, windowMs));
    }
    return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  /** The CPU cores one replica used over the window, undefined when not known (yet). */
  cpuCores(namespace: string, name: string, windowMs = DEFAULT_WINDOW_MS): number | undefined {
    for (const [node, entry] of this.freshNodes()) {
      const series = entry.replicas.get(`${namespace}/${name}`);
      if (series) return usageOf(node, series, entry.reportedAtMs, windowMs).cpuCores ?? undefined;
    }
    return undefined;
  }

  /**
   * The replica's newest cumulative CPU counter (agent clock) and its container's start, as a
   * kubelet would serve them to a scrape; undefined when its node is silent or does not run it.
   */
  cpuCounter(namespace: string, name: string): { atMs: number; cpuSeconds: number; startedAt: string } | undefined {
    for (const [, entry] of this.freshNodes()) {
      const series = entry.replicas.get(`${namespace}/${name}`);
      if (!series) continue;
      const newest = series.samples[series.samples.length - 1];
      return { atMs: entry.reportedAtMs, cpuSeconds: newest.cpuSeconds, startedAt: series.startedAt };
    }
    return undefined;
  }

  nodeUsage(windowMs = DEFAULT_WINDOW_MS): NodeUsage[] {
    const out: NodeUsage[] = [];
    for (const [node, entry] of this.freshNodes()) {
      const replicas = [...entry.replicas.values()].map((s) => usageOf(node, s, entry.reportedAtMs, windowMs));
      out.push({
        node, timestamp: new Date(entry.reportedAtMs).toISOString(), replicas: replicas.length,
        cpuCores: replicas.reduce((sum, r) => sum + (r.cpuCores ?? 0), 0),
        memoryWorkingSetBytes: replicas.reduce((sum, r) => sum + r.memoryWorkingSetBytes, 0),
      });
    }
    return out.sort((a, b) => a.node.localeCompare(b.node));
  }

  private *freshNodes(): Generator<[string, NodeEntry]> {
    const now = this.now();
    for (const [node, entry] of this.nodes) {
      if (now - entry.receivedAtMs <= this.staleMs) yield [node, entry];
      else this.nodes.delete(node);
    }
  }
}

/**
 * The rate between the replica's figures at the node's latest report and the oldest figures known
 * within the window before it: those of the first run still current at the window's start, taken at
 * that start (or at the run's own start when later). With a sample at every report this is the
 * oldest sample within the window.
 */
function usageOf(node: string, series: ReplicaSeries, reportedAtMs: number, windowMs: number): ReplicaUsage {
  const last = series.samples.length - 1;
  const newest = series.samples[last];
  const windowStart = reportedAtMs - windowMs;
  const firstIndex = series.samples.findIndex((s, i) => (i === last ? reportedAtMs : s.untilMs) >= windowStart);
  const first = series.samples[firstIndex];
  const fromMs = Math.max(first.atMs, windowStart);
  const seconds = fromMs < reportedAtMs ? (reportedAtMs - fromMs) / 1000 : 0;
  return {
    namespace: series.namespace, name: series.name, node, timestamp: new Date(reportedAtMs).toISOString(),
    cpuCores: seconds > 0 ? Math.max(0, (newest.cpuSeconds - first.cpuSeconds) / seconds) : null, windowSeconds: seconds,
    memoryWorkingSetBytes: newest.workingSet, memoryUsageBytes: newest.usage,
  };
}
