/**
 * Cluster-level series of the control plane: desired, current and ready replicas per service (read
 * from etcd when scraped, so every instance answers the same), and the scheduling latency of each
 * replica (creation to binding), observed from the watch by the leader.
 */
import { Gauge } from 'prom-client';
import { Replica, Service } from '@tide/api';
import { ObjectStore, Watcher, objectKey } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';

type ServiceLabels = 'namespace' | 'service';

export function registerServiceReplicaGauges(metrics: ControlPlaneMetrics, store: ObjectStore): void {
  const registers = [metrics.registry];
  const labelNames: ServiceLabels[] = ['namespace', 'service'];
  const current = new Gauge({ name: 'tide_service_current_replicas', help: 'Replicas of the service that exist and are not terminating', labelNames, registers });
  const ready = new Gauge({ name: 'tide_service_ready_replicas', help: 'Replicas of the service that are ready', labelNames, registers });
  new Gauge({
    name: 'tide_service_desired_replicas', help: 'Replicas the service asks for (spec.replicas)', labelNames, registers,
    async collect() {
      const [services, replicas] = await Promise.all([store.list<Service>('Service'), store.list<Replica>('Replica')]);
      for (const gauge of [this, current, ready]) gauge.reset();
      for (const s of services.items) {
        const labels = { namespace: s.metadata.namespace, service: s.metadata.name };
        const own = replicas.items.filter((r) => r.metadata.namespace === labels.namespace && r.spec.service === labels.service && !r.metadata.deletionTimestamp);
        this.set(labels, s.spec.replicas);
        current.set(labels, own.length);
        ready.set(labels, own.filter((r) => r.status?.ready).length);
      }
    },
  });
}

/** Observes creation → binding for replicas this instance saw unbound, while it is the leader. */
export async function watchSchedulingLatency(metrics: ControlPlaneMetrics, store: ObjectStore, isLeader: () => boolean): Promise<Watcher> {
  const unbound = new Set<string>(); // etcd keys, as delete events name them
  return store.watch<Replica>('Replica', (event) => {
    if (event.type === 'delete') return void unbound.delete(event.key);
    const { namespace, name, creationTimestamp } = event.object.metadata;
    const key = objectKey('Replica', namespace, name);
    if (!event.object.spec.nodeName) return void unbound.add(key);
    if (!unbound.delete(key) || !isLeader() || !creationTimestamp) return;
    metrics.schedulingLatency.observe(Math.max(0, (Date.now() - Date.parse(creationTimestamp)) / 1000));
  });
}
