/**
 * Kubernetes HPA's CPU recommendation (pkg/controller/podautoscaler/replica_calculator.go,
 * GetResourceReplicas and groupPods), over the samples of the metrics-server emulation:
 *  - pods being deleted and failed pods are ignored;
 *  - pending pods, and (for CPU) pods that are not ready or whose sample is not trustworthy yet,
 *    are "unready": within the CPU initialisation period (5 min from the start) a pod counts only
 *    when ready and its sample's window began after it became ready; after it, only a pod that is
 *    not ready and never was (its readiness last changed within the readiness delay, 30 s, of its
 *    start) is left out;
 *  - running pods without a sample are "missing".
 * The usage ratio over the ready pods' samples decides the direction; on a scale-up unready and
 * missing pods count at 0% of their request, on a scale-down missing ones at 100% (or the target
 * when it is above 100%), and the ratio is computed again; a change within the tolerance, or one
 * that the assumed usage turns round, keeps the current count. Utilisation is a whole percent and
 * usage whole millicores, as in Kubernetes.
 */
import { CpuSample } from './metrics.server';
import { HPA_TIMING, HpaTiming } from './policy';
import { MetricRecommendation, PodReading } from './recommendation';

export interface PodGroups {
  /** Pods whose sample counts as it is. */
  ready: string[];
  unready: string[];
  missing: string[];
  ignored: string[];
}

export function groupPods(pods: PodReading[], sampleOf: (name: string) => CpuSample | undefined, nowMs: number, timing: HpaTiming): PodGroups {
  const groups: PodGroups = { ready: [], unready: [], missing: [], ignored: [] };
  for (const pod of pods) {
    if (pod.deleting || pod.phase === 'Failed') groups.ignored.push(pod.name);
    else if (pod.phase === 'Pending') groups.unready.push(pod.name);
    else {
      const sample = sampleOf(pod.name);
      if (!sample) groups.missing.push(pod.name);
      else if (unreadyForCpu(pod, sample, nowMs, timing)) groups.unready.push(pod.name);
      else groups.ready.push(pod.name);
    }
  }
  return groups;
}

function unreadyForCpu(pod: PodReading, sample: CpuSample, nowMs: number, timing: HpaTiming): boolean {
  if (pod.startedAtMs === undefined || pod.readyChangedAtMs === undefined) return true;
  if (pod.startedAtMs + timing.cpuInitializationPeriodMs > nowMs) {
    // Still initialising: its CPU counts once a whole sample window has passed since it became ready.
    return !pod.ready || sample.atMs < pod.readyChangedAtMs + sample.windowMs;
  }
  return !pod.ready && pod.startedAtMs + timing.initialReadinessDelayMs > pod.readyChangedAtMs;
}

interface Entry {
  usedMillis: number;
  requestedMillis: number;
}

/** Whole percent of the request, as GetResourceUtilizationRatio computes it; undefined without requests. */
function utilisation(entries: Entry[]): number | undefined {
  const requested = entries.reduce((sum, e) => sum + e.requestedMillis, 0);
  if (requested <= 0) return undefined;
  return Math.floor((entries.reduce((sum, e) => sum + e.usedMillis, 0) * 100) / requested);
}

/**
 * The HPA's recommendation for a CPU utilisation target (a fraction of the request); undefined
 * when no pod has a usable sample (the HPA then cannot compute one and leaves the count alone).
 */
export function hpaCpuRecommendation(
  pods: PodReading[], sampleOf: (name: string) => CpuSample | undefined, target: number, tolerance: number,
  current: number, nowMs: number, timing: HpaTiming = HPA_TIMING,
): MetricRecommendation | undefined {
  const groups = groupPods(pods, sampleOf, nowMs, timing);
  const byName = new Map(pods.map((p) => [p.name, p]));
  const request = (name: string) => Math.round(byName.get(name)!.requestedCores * 1000);
  const measured: Entry[] = groups.ready.map((name) => ({ usedMillis: Math.ceil(sampleOf(name)!.cores * 1000 - 1e-9), requestedMillis: request(name) }));
  const targetPercent = Math.round(target * 100);
  const percent = utilisation(measured);
  if (measured.length === 0 || percent === undefined) return undefined;
  const usageRatio = percent / targetPercent;
  const within = (ratio: number) => Math.abs(1 - ratio) <= tolerance;
  const base = { metric: 'cpu' as const, observed: percent / 100, target, ratio: usageRatio, replicas: measured.length };
  const scaleUpWithUnready = groups.unready.length > 0 && usageRatio > 1;
  if (!scaleUpWithUnready && groups.missing.length === 0) {
    if (within(usageRatio)) return { ...base, recommendation: current, unchanged: 'tolerance' };
    return { ...base, recommendation: Math.ceil(usageRatio * measured.length) };
  }
  const counted = [...measured];
  const missingPercent = usageRatio < 1 ? Math.max(100, targetPercent) : usageRatio > 1 ? 0 : undefined;
  if (missingPercent !== undefined) {
    for (const name of groups.missing) counted.push({ usedMillis: Math.floor((request(name) * missingPercent) / 100), requestedMillis: request(name) });
  }
  if (scaleUpWithUnready) for (const name of groups.unready) counted.push({ usedMillis: 0, requestedMillis: request(name) });
  const assumed = {
    assumed: { notReady: scaleUpWithUnready ? groups.unready.length : 0, missing: missingPercent !== undefined ? groups.missing.length : 0 },
  };
  const newRatio = utilisation(counted)! / targetPercent;
  if (within(newRatio)) return { ...base, ...assumed, recommendation: current, unchanged: 'tolerance' };
  if ((usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1)) return { ...base, ...assumed, recommendation: current, unchanged: 'direction' };
  const replicas = Math.ceil(newRatio * counted.length);
  // A count that the pods added to the calculation would move against the direction keeps the current one.
  if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return { ...base, ...assumed, recommendation: current, unchanged: 'direction' };
  return { ...base, ...assumed, recommendation: replicas };
}
