/**
 * Cluster-level series of the control plane: desired, current and ready replicas per service (read
 * from the control plane's cache when scraped, so every instance answers the same once its cache
 * has caught up), and the scheduling latency of each replica (creation to binding), observed from the
 * cache's changes by the leader.
 */
import { Gauge } from 'prom-client';
import { ClusterCache } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';

type ServiceLabels = 'namespace' | 'service';

export function registerServiceReplicaGauges(metrics: ControlPlaneMetrics, cache: ClusterCache): void {
  const registers = [metrics.registry];
  const labelNames: ServiceLabels[] = ['namespace', 'service'];
  // The registry collects every metric at once: the three gauges share one computation per scrape,
  // so a single scrape carries them all, consistent with each other.
  let computing: Promise<void> | undefined;
  const collect = () => (computing ??= compute().finally(() => (computing = undefined)));
  const desired = new Gauge({ name: 'tide_service_desired_replicas', help: 'Replicas the service asks for (spec.replicas)', labelNames, registers, collect });
  const current = new Gauge({ name: 'tide_service_current_replicas', help: 'Replicas of the service that exist and are not terminating', labelNames, registers, collect });
  const ready = new Gauge({ name: 'tide_service_ready_replicas', help: 'Replicas of the service that are ready', labelNames, registers, collect });
  async function compute(): Promise<void> {
    await cache.fresh();
    for (const gauge of [desired, current, ready]) gauge.reset();
    for (const s of cache.list('Service')) {
      const labels = { namespace: s.metadata.namespace, service: s.metadata.name };
      const own = cache.replicasOf(labels.namespace, labels.service).filter((r) => !r.metadata.deletionTimestamp);
      desired.set(labels, s.spec.replicas);
      current.set(labels, own.length);
      ready.set(labels, own.filter((r) => r.status?.ready).length);
    }
  }
}

/** Observes creation → binding for replicas this instance saw bound (unbound first, or created bound), while it is the leader. Returns the unsubscribe function. */
export function watchSchedulingLatency(metrics: ControlPlaneMetrics, cache: ClusterCache, isLeader: () => boolean): () => void {
  return cache.onChange((change) => {
    if (change.kind !== 'Replica' || !change.current || change.previous?.spec.nodeName || !change.current.spec.nodeName) return;
    // Bound by this change, or created bound (placed before it was stored: scheduler.loop.ts); a
    // relist tells no listener of the objects it lists.
    const { creationTimestamp } = change.current.metadata;
    if (!isLeader() || !creationTimestamp) return;
    metrics.schedulingLatency.observe(Math.max(0, (Date.now() - Date.parse(creationTimestamp)) / 1000));
  });
}
