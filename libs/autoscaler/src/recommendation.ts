/**
 * From observed load to a replica count, per metric: desired = ceil(replicas × observed / target),
 * unchanged while observed is within the tolerance band of the target, the largest over metrics
 * (Kubernetes HPA's algorithm). The replicas counted are those the load was measured on, so replicas
 * still starting (no load yet) neither dilute the average nor count twice.
 */
import { CpuCounter } from './metrics.server';
import { NodeShare } from './node.release';
import { ResolvedPolicy } from './policy';

/** One reading of a service's load, taken by the controller about once a second. */
export interface MetricReading {
  atMs: number;
  /** Replicas with a CPU rate, the cores they used and the cores they requested (sums): the agents' fast path. */
  cpu?: { replicas: number; usedCores: number; requestedCores: number };
  /** Requests per second over every node's balancer, and the ready replicas that served them. */
  requests?: { replicas: number; perSecond: number };
  /** Every replica of the service, for policies that read CPU as Kubernetes does (metrics-server, HPA). */
  pods?: PodReading[];
  /** The nodes holding the service's placed replicas, and which would be handed back empty (a policy with `nodeReleaseMs` frees those sooner, node.release.ts). */
  nodes?: NodeShare[];
}

/** One replica as Kubernetes' HPA sees a pod. */
export interface PodReading {
  name: string;
  /** Pending: not running yet (unscheduled, placed, starting); Failed: left out, as deleting ones. */
  phase: 'Pending' | 'Running' | 'Failed';
  deleting: boolean;
  ready: boolean;
  /** When its container started (the pod's status.startTime). */
  startedAtMs?: number;
  /** When `ready` last changed (the Ready condition's lastTransitionTime). */
  readyChangedAtMs?: number;
  requestedCores: number;
  /** Its agent's newest cumulative CPU counter, which the metrics-server emulation scrapes. */
  cpuCounter?: CpuCounter;
}

export interface MetricRecommendation {
  metric: 'cpu' | 'requests';
  /** CPU: fraction of the request (1.2 = 120%); requests: per second per replica. */
  observed: number;
  target: number;
  /** observed / target */
  ratio: number;
  /** The replicas the load was measured on. */
  replicas: number;
  recommendation: number;
  /** Why the recommendation is the current count: the change would be too small, or (HPA) would flip direction. */
  unchanged?: 'tolerance' | 'direction';
  /** HPA: replicas counted at an assumed usage (not ready or starting: 0%; without a sample: 0% up, 100% down). */
  assumed?: { notReady: number; missing: number };
}

/**
 * The load averaged over the readings since `sinceMs`: mean CPU cores used and mean requests per
 * second (the service's load, whatever its replica count was), over the replicas and requests of
 * the latest reading (the capacity now). So a window spanning a scale change neither counts the
 * load of removed replicas as missing nor the replicas themselves as still there.
 */
export function averageReading(readings: MetricReading[], sinceMs: number): MetricReading | undefined {
  const recent = readings.filter((r) => r.atMs >= sinceMs);
  if (recent.length === 0) return undefined;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const cpu = recent.flatMap((r) => (r.cpu ? [r.cpu] : []));
  const requests = recent.flatMap((r) => (r.requests ? [r.requests] : []));
  const latestCpu = cpu[cpu.length - 1];
  const latestRequests = requests[requests.length - 1];
  return {
    atMs: recent[recent.length - 1].atMs,
    ...(latestCpu ? { cpu: { ...latestCpu, usedCores: mean(cpu.map((c) => c.usedCores)) } } : {}),
    ...(latestRequests ? { requests: { ...latestRequests, perSecond: mean(requests.map((q) => q.perSecond)) } } : {}),
  };
}

/**
 * Per-metric recommendations from the reading; a metric without data (no replica measured yet)
 * gives none. CPU only for a policy on the agents' fast path: the others read it through
 * `hpaCpuRecommendation`.
 */
export function recommend(policy: ResolvedPolicy, reading: MetricReading, current: number): MetricRecommendation[] {
  const out: MetricRecommendation[] = [];
  const { cpuUtilization, requestsPerSecond } = policy.targets;
  const cpu = policy.cpuMetrics.source === 'agent' ? reading.cpu : undefined;
  if (cpuUtilization !== undefined && cpu && cpu.replicas > 0 && cpu.requestedCores > 0) {
    const observed = cpu.usedCores / cpu.requestedCores;
    out.push(byRatio('cpu', observed, cpuUtilization, cpu.replicas, current, policy.tolerance));
  }
  const requests = reading.requests;
  if (requestsPerSecond !== undefined && requests && (requests.replicas > 0 || requests.perSecond > 0)) {
    // With no ready replica every request failed or queued: what they need is the whole rate.
    const serving = Math.max(1, requests.replicas);
    out.push(byRatio('requests', requests.perSecond / serving, requestsPerSecond, serving, current, policy.tolerance));
  }
  return out;
}

function byRatio(metric: MetricRecommendation['metric'], observed: number, target: number, replicas: number, current: number, tolerance: number): MetricRecommendation {
  const ratio = observed / target;
  // The small epsilon keeps float noise (0.1 + 0.2) from adding a replica at an exact fit.
  const within = Math.abs(ratio - 1) <= tolerance;
  const recommendation = within ? current : Math.ceil(replicas * ratio - 1e-9);
  return { metric, observed, target, ratio, replicas, recommendation, ...(within ? { unchanged: 'tolerance' as const } : {}) };
}

/** The largest recommendation (and the highest ratio, for panic), or none without data. */
export function combine(recommendations: MetricRecommendation[]): { replicas: number; ratio: number } | undefined {
  if (recommendations.length === 0) return undefined;
  return {
    replicas: Math.max(...recommendations.map((r) => r.recommendation)),
    ratio: Math.max(...recommendations.map((r) => r.ratio)),
  };
}
