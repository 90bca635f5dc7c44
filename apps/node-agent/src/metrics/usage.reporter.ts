/**
 * Pushes the node's container usage to the control plane about once a second, every 2 s from 500
 * replicas on (usageReportIntervalMs; ReportUsage in proto/tide/v1/agent.proto), each report
 * carrying only the samples that changed since the control plane last acknowledged the node's set
 * (usage.delta.ts). Push rather than pull: the autoscaler needs every replica's
 * CPU usage on the control plane each second; the control plane asking N agents every second would
 * cost it N outgoing requests and a time limit per node, while a push costs it one small unary call
 * per node, keeps the agent's own clock on every sample (rates are computed on it), and needs no
 * reachability from the control plane to the agents.
 */
import { NodeUsageReport, ServiceRequestCount, UsageReportAck } from '@tide/api';
import { AcknowledgedUsage, ReplicaPart, replicaSample } from './usage.delta';
import { UsageSampler, UsageSnapshot } from './usage.sampler';

export const USAGE_REPORT_INTERVAL_MS = 1000;
/** From this many replicas on, a node reports half as often (usageReportIntervalMs). */
export const LARGE_NODE_REPLICAS = 500;

/**
 * A node at rest sends few samples (usage.delta.ts), but sampling still passes over every replica
 * and the control plane's rates take a 5 s window (usage.cache.ts), which still holds two or more
 * reports of every replica at 2 s: a large node reports every 2 s, and goes stale only after 5 s
 * without one.
 */
export function usageReportIntervalMs(replicas: number, baseMs = USAGE_REPORT_INTERVAL_MS): number {
  return replicas >= LARGE_NODE_REPLICAS ? 2 * baseMs : baseMs;
}

/** Where reports go: the control plane client, over its current connection. */
export interface UsageSink {
  /** The connection reports go over now; undefined while there is none. */
  usageSession(): number | undefined;
  /** The control plane's answer; undefined when the report was not sent (the session is over) or not answered. */
  reportUsage(report: NodeUsageReport, session: number): Promise<UsageReportAck | undefined>;
}

/** Cumulative request counts per service from the node's load balancer (the autoscaler's request rate), and their latencies. */
export interface RequestCounters {
  serviceRequests(): { namespace: string; service: string; requests: number; latencyCounts?: number[] }[];
  /** Brings the counts up to date first (the balancer process's are fetched over its channel). */
  refresh?(): Promise<void>;
}

/**
 * The report of a snapshot: every replica's sample unless `part` says which (a delta), and every
 * service's request counter. `countedAtMs`: now, when the counters are read (the snapshot's CPU may
 * be older: up to its cache age and its reads).
 */
export function usageReport(
  nodeName: string, snapshot: UsageSnapshot, counters?: RequestCounters, countedAtMs = Date.now(),
  part: ReplicaPart = { replicas: snapshot.replicas.map(replicaSample) },
): NodeUsageReport {
  return {
    nodeName, timestampMs: snapshot.takenAt,
    services: (counters?.serviceRequests() ?? []).map((s): ServiceRequestCount => ({
      namespace: s.namespace, service: s.service, requestsTotal: s.requests, countedAtMs, ...(s.latencyCounts ? { latencyCounts: s.latencyCounts } : {}),
    })),
    ...part,
  };
}

export class UsageReporter {
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private readonly acknowledged = new AcknowledgedUsage();

  constructor(
    private readonly nodeName: string,
    private readonly sampler: UsageSampler,
    private readonly sink: () => UsageSink | undefined,
    private readonly intervalMs = USAGE_REPORT_INTERVAL_MS,
    private readonly counters?: RequestCounters,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The next report after `ms`; the period follows the node's size (usageReportIntervalMs). */
  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  /** The next tick is scheduled once this one is done: a slow control plane delays reports, never queues them. */
  private async tick(): Promise<void> {
    let replicas = 0;
    try {
      replicas = await this.report();
    } catch {
      /* the runtime could not read a sample: the next tick tries again */
    } finally {
      this.schedule(usageReportIntervalMs(replicas, this.intervalMs));
    }
  }

  /** Samples and sends one report (full or a delta) while connected; the replicas sampled. */
  async report(): Promise<number> {
    const sink = this.sink();
    if (sink?.usageSession() === undefined) return 0;
    const snapshot = await this.sampler.sample();
    await this.counters?.refresh?.();
    // Read after the awaits: the report goes out on this session or not at all (reportUsage checks).
    const session = sink.usageSession();
    if (session === undefined) return snapshot.replicas.length;
    const pending = this.acknowledged.next(snapshot, session, this.now());
    const ack = await sink.reportUsage(usageReport(this.nodeName, snapshot, this.counters, this.now(), pending.part), session);
    if (ack) pending.acknowledged(ack);
    return snapshot.replicas.length;
  }
}
