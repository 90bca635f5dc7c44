/**
 * A service's load now, as libs/autoscaler reads it: the CPU of its ready replicas and the requests
 * per second all node balancers answered for it. Pure over a `LoadSource` (the control plane's usage
 * cache, fed by the agents' usage pushes), so the autoscaler loop only reads and writes.
 */
import { Replica, Service } from '@tide/api';
import { MetricReading } from '@tide/autoscaler';

/** Where load is read from: rates over the last `windowMs`, undefined while there is none. */
export interface LoadSource {
  cpuCores(namespace: string, replica: string, windowMs: number): number | undefined;
  requestRate(namespace: string, service: string, windowMs: number): number | undefined;
}

/**
 * Rates between the newest agent sample and the one before it (samples are about 1 s apart; the
 * half second absorbs jitter): a step in load shows within a second or two.
 */
export const RATE_WINDOW_MS = 1500;

/**
 * The service's reading: CPU of its ready replicas that have a rate (those still starting have
 * none and are not counted), and the requests per second all node balancers answered for it.
 */
export function readLoad(service: Service, replicas: readonly Replica[], load: LoadSource, now: number): MetricReading {
  const ready = replicas.filter((r) => r.status?.ready && !r.metadata.deletionTimestamp);
  const reading: MetricReading = { atMs: now };
  const autoscale = service.spec.autoscale!;
  if (autoscale.targetCPUUtilizationPercentage !== undefined) {
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
    if (measured > 0) reading.cpu = { replicas: measured, usedCores, requestedCores };
  }
  if (autoscale.targetRequestsPerSecond !== undefined) {
    const perSecond = load.requestRate(service.metadata.namespace, service.metadata.name, RATE_WINDOW_MS);
    if (perSecond !== undefined) reading.requests = { replicas: ready.length, perSecond };
  }
  return reading;
}
