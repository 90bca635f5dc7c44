/**
 * Pushes the node's container usage to the control plane about once a second, every 2 s from 500
 * replicas on (usageReportIntervalMs; ReportUsage in
 * proto/tide/v1/agent.proto). Push rather than pull: the autoscaler needs every replica's
 * CPU usage on the control plane each second; the control plane asking N agents every second would
 * cost it N outgoing requests and a time limit per node, while a push costs it one small unary call
 * per node, keeps the agent's own clock on every sample (rates are computed on it), and needs no
 * reachability from the control plane to the agents.
 */
import { NodeUsageReport, ReplicaUsageSample, ServiceRequestCount } from '@tide/api';
import { UsageSampler, UsageSnapshot } from './usage.sampler';

export const USAGE_REPORT_INTERVAL_MS = 1000;
/** From this many replicas on, a node reports half as often (usageReportIntervalMs). */
export const LARGE_NODE_REPLICAS = 500;

/**
 * A report holds every replica's sample, so its cost grows with the node: at 1,000 idle replicas,
 * building and encoding it (and collecting the garbage) was most of what the agent did at rest. A
 * large node reports every 2 s: the control plane's rates take a 5 s window (usage.cache.ts), which
 * still holds two or more samples of every replica, and a node goes stale only after 5 s without one.
 */
export function usageReportIntervalMs(replicas: number, baseMs = USAGE_REPORT_INTERVAL_MS): number {
  return replicas >= LARGE_NODE_REPLICAS ? 2 * baseMs : baseMs;
}

export interface UsageSink {
  reportUsage(report: NodeUsageReport): Promise<boolean>;
}

/** Cumulative request counts per service from the node's load balancer (the autoscaler's request rate), and their latencies. */
export interface RequestCounters {
  serviceRequests(): { namespace: string; service: string; requests: number; latencyCounts?: number[] }[];
  /** Brings the counts up to date first (the balancer process's are fetched over its channel). */
  refresh?(): Promise<void>;
}

/** `countedAtMs`: now, when the counters are read (the snapshot's CPU may be older: up to its cache age and its reads). */
export function usageReport(nodeName: string, snapshot: UsageSnapshot, counters?: RequestCounters, countedAtMs = Date.now()): NodeUsageReport {
  return {
    nodeName, timestampMs: snapshot.takenAt,
    services: (counters?.serviceRequests() ?? []).map((s): ServiceRequestCount => ({
      namespace: s.namespace, service: s.service, requestsTotal: s.requests, countedAtMs, ...(s.latencyCounts ? { latencyCounts: s.latencyCounts } : {}),
    })),
    replicas: snapshot.replicas.map((r): ReplicaUsageSample => ({
      namespace: r.namespace, name: r.name, cpuUsageSeconds: r.usage.cpuUsageSeconds,
      memoryWorkingSetBytes: r.usage.memoryWorkingSetBytes, memoryUsageBytes: r.usage.memoryUsageBytes, startedAt: r.startedAt.toISOString(),
    })),
  };
}

export class UsageReporter {
  private timer?: NodeJS.Timeout;
  private stopped = true;

  constructor(
    private readonly nodeName: string,
    private readonly sampler: UsageSampler,
    private readonly sink: () => UsageSink | undefined,
    private readonly intervalMs = USAGE_REPORT_INTERVAL_MS,
    private readonly counters?: RequestCounters,
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
    const sink = this.sink();
    if (!sink) return this.schedule(this.intervalMs);
    let replicas = 0;
    try {
      const snapshot = await this.sampler.sample();
      replicas = snapshot.replicas.length;
      await this.counters?.refresh?.();
      await sink.reportUsage(usageReport(this.nodeName, snapshot, this.counters));
    } catch {
      /* the runtime could not read a sample: the next tick tries again */
    } finally {
      this.schedule(usageReportIntervalMs(replicas, this.intervalMs));
    }
  }
}
