/**
 * Pushes the node's container usage to the control plane about once a second (ReportUsage in
 * proto/tide/v1/agent.proto). Push rather than pull: the autoscaler needs every replica's
 * CPU usage on the control plane each second; the control plane asking N agents every second would
 * cost it N outgoing requests and a time limit per node, while a push costs it one small unary call
 * per node, keeps the agent's own clock on every sample (rates are computed on it), and needs no
 * reachability from the control plane to the agents.
 */
import { NodeUsageReport, ReplicaUsageSample, ServiceRequestCount } from '@tide/api';
import { UsageSampler, UsageSnapshot } from './usage.sampler';

export const USAGE_REPORT_INTERVAL_MS = 1000;

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
  private sending = false;

  constructor(
    private readonly nodeName: string,
    private readonly sampler: UsageSampler,
    private readonly sink: () => UsageSink | undefined,
    private readonly intervalMs = USAGE_REPORT_INTERVAL_MS,
    private readonly counters?: RequestCounters,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A report still in flight (a slow control plane) makes the next tick skip, not queue up. */
  private async tick(): Promise<void> {
    const sink = this.sink();
    if (!sink || this.sending) return;
    this.sending = true;
    try {
      const snapshot = await this.sampler.sample();
      await this.counters?.refresh?.();
      await sink.reportUsage(usageReport(this.nodeName, snapshot, this.counters));
    } catch {
      /* the runtime could not read a sample: the next tick tries again */
    } finally {
      this.sending = false;
    }
  }
}
