/**
 * A service's load as the autoscaler reads it each second, in the shape its policy reads CPU:
 * the agents' fast path (the CPU rate of each ready replica over about the last second, summed) for
 * `tide`, or every replica with its cumulative counter and readiness for the metrics-server and
 * HPA emulation of `hpa-default` (libs/autoscaler groups and samples them as Kubernetes would).
 */
import { Replica, ReplicaPhase, Service } from '@tide/api';
import { MetricReading, NodeShare, PodReading, ResolvedPolicy } from '@tide/autoscaler';
import { holdsResources } from './replica.predicates';

/** What the loop reads load from: the control plane's UsageCache. */
export interface LoadSource {
  cpuCores(namespace: string, replica: string, windowMs: number): number | undefined;
  cpuCounter(namespace: string, replica: string): { atMs: number; cpuSeconds: number; startedAt: string } | undefined;
  requestRate(namespace: string, service: string, windowMs: number): number | undefined;
}

/**
 * Rates between the newest agent sample and the one before it (samples are about 1 s apart; the
 * half second absorbs jitter): a step in load shows within a second or two.
 */
const RATE_WINDOW_MS = 1500;
/**
 * Requests per second over about the last 3 s: a balancer counts a request when its event loop gets
 * to the connection, so while the agent is busy (starting a dozen replicas at a spike, on a loaded
 * machine) arrivals are counted in bursts: over one second a spike of 80/s read as 100-270/s and
 * panic mode went to the maximum. Three seconds smooth a stall of a second or two at the cost of
 * about a second more before panic (the step reaches twice the target by the second reading).
 */
const REQUEST_RATE_WINDOW_MS = 3500;

/** Kubernetes' pod phases for Tide's: a pod is Pending until its container runs. */
const POD_PHASE: Record<ReplicaPhase, PodReading['phase'] | undefined> = {
  Pending: 'Pending', Scheduled: 'Pending', Starting: 'Pending', Running: 'Running', Failed: 'Failed',
  // Frozen: not ready and using no CPU, as a pod not yet started (the HPA does not count its usage).
  Paused: 'Pending',
  // A replica terminating is deleting (left out below); one that succeeded has no CPU left to read.
  Terminating: undefined, Succeeded: 'Failed',
};

/** What tells which nodes a scale-in could free: every replica of the cluster, and which nodes a node autoscaler would hand back empty. */
export interface NodeRelease {
  everyReplica: readonly Replica[];
  handsBack(node: string): boolean;
}

/**
 * The service's load now: CPU (per its policy) and the requests per second all node balancers
 * answered for it, over the ready replicas; for a policy that frees nodes on scale-in
 * (`nodeReleaseMs`), where its replicas run, when a node autoscaler runs (`release`).
 */
export function readLoad(service: Service, replicas: Replica[], load: LoadSource, now: number, policy: ResolvedPolicy, release?: NodeRelease): MetricReading {
  const ready = replicas.filter((r) => r.status?.ready && !r.metadata.deletionTimestamp);
  const reading: MetricReading = { atMs: now };
  if (policy.nodeReleaseMs !== undefined && release) reading.nodes = nodeShares(replicas, release);
  const autoscale = service.spec.autoscale!;
  if (autoscale.targetCPUUtilizationPercentage !== undefined) {
    if (policy.cpuMetrics.source === 'metrics-server') reading.pods = replicas.map((r) => podReading(r, load));
    else {
      const cpu = readyCpu(ready, load);
      if (cpu) reading.cpu = cpu;
    }
  }
  if (autoscale.targetRequestsPerSecond !== undefined) {
    const perSecond = load.requestRate(service.metadata.namespace, service.metadata.name, REQUEST_RATE_WINDOW_MS);
    if (perSecond !== undefined) reading.requests = { replicas: ready.length, perSecond };
  }
  return reading;
}

/**
 * The nodes holding `own` replicas (placed and holding resources): how many each holds, and whether
 * the node stays when they leave it (a replica of anything else holds resources there, or the node
 * autoscaler would not hand it back).
 */
export function nodeShares(own: readonly Replica[], { everyReplica, handsBack }: NodeRelease): NodeShare[] {
  const key = (r: Replica) => `${r.metadata.namespace}/${r.metadata.name}`;
  const mine = new Set(own.map(key));
  const shares = new Map<string, NodeShare>();
  for (const r of own) {
    if (!holdsResources(r)) continue;
    const share = shares.get(r.spec.nodeName!) ?? { replicas: 0, stays: !handsBack(r.spec.nodeName!) };
    share.replicas++;
    shares.set(r.spec.nodeName!, share);
  }
  for (const r of everyReplica) {
    const share = holdsResources(r) ? shares.get(r.spec.nodeName!) : undefined;
    if (share && !mine.has(key(r))) share.stays = true;
  }
  return [...shares.values()];
}

/** CPU of the ready replicas that have a rate (those still starting have none and are not counted). */
function readyCpu(ready: Replica[], load: LoadSource): MetricReading['cpu'] {
  let measured = 0;
  let usedCores = 0;
  let requestedCores = 0;
  for (const replica of ready) {
    const cores = load.cpuCores(replica.metadata.namespace, replica.metadata.name, RATE_WINDOW_MS);
    if (cores === undefined) continue;
    measured++;
    usedCores += cores;
    requestedCores += replica.spec.template.requests.cpuMillis / 1000;
  }
  return measured > 0 ? { replicas: measured, usedCores, requestedCores } : undefined;
}

function podReading(replica: Replica, load: LoadSource): PodReading {
  const status = replica.status;
  const counter = load.cpuCounter(replica.metadata.namespace, replica.metadata.name);
  const startedAtMs = status?.startedAt ? Date.parse(status.startedAt) : NaN;
  const readyChangedAtMs = status?.readyChangedAt ? Date.parse(status.readyChangedAt) : NaN;
  const counterStartMs = counter ? Date.parse(counter.startedAt) : NaN;
  return {
    name: replica.metadata.name,
    phase: POD_PHASE[status?.phase ?? 'Pending'] ?? 'Running',
    deleting: replica.metadata.deletionTimestamp !== undefined || status?.phase === 'Terminating',
    ready: status?.ready === true,
    ...(Number.isFinite(startedAtMs) ? { startedAtMs } : {}),
    ...(Number.isFinite(readyChangedAtMs) ? { readyChangedAtMs } : {}),
    requestedCores: replica.spec.template.requests.cpuMillis / 1000,
    // A counter whose container start is unknown is taken as started long ago (never "fresh").
    ...(counter ? { cpuCounter: { atMs: counter.atMs, cpuSeconds: counter.cpuSeconds, startedAtMs: Number.isFinite(counterStartMs) ? counterStartMs : 0 } } : {}),
  };
}
