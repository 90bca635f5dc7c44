/** Keeps every Service's replicas matching its spec; terminates the replicas of deleted Services. */
import { Replica, Service, canonicalJson } from '@tide/api';
import { NotFoundError, ObjectStore } from '@tide/store';
import { EventRecorder } from './events.recorder';
import { Move } from './replica.moves';
import { isTerminating, planService, serviceStatus } from './service.plan';

export class ServiceController {
  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
  ) {}

  async sync(): Promise<void> {
    const services = (await this.store.list<Service>('Service')).items;
    const replicas = (await this.store.list<Replica>('Replica')).items;
    const byService = new Map<string, Replica[]>();
    for (const replica of replicas) {
      const key = `${replica.metadata.namespace}/${replica.spec.service}`;
      byService.set(key, [...(byService.get(key) ?? []), replica]);
    }
    for (const service of services) {
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      await this.syncService(service, byService.get(key) ?? []);
      byService.delete(key);
    }
    // Replicas whose Service is gone.
    for (const orphans of byService.values()) {
      for (const replica of orphans) if (!isTerminating(replica)) await terminateReplica(this.store, replica);
    }
  }

  private async syncService(service: Service, replicas: Replica[]): Promise<void> {
    const plan = planService(service, replicas);
    for (const replica of plan.create) await this.store.create(replica);
    for (const replica of plan.terminate) await terminateReplica(this.store, replica);
    for (const move of plan.completed) await this.recordMoved(service, move);
    const scaled = plan.terminate.length - plan.completed.length;
    if (plan.create.length || scaled) {
      const live = replicas.filter((r) => !isTerminating(r)).length + plan.create.length - plan.terminate.length;
      await this.events.record(
        { kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name }, 'Normal', 'Scaled',
        `${plan.create.length} replica(s) created, ${scaled} terminated: ${live} of ${service.spec.replicas} wanted`,
      );
    }
    // status.autoscale belongs to the autoscaler controller: kept as stored.
    const status = { ...serviceStatus(service, replicas), ...(service.status?.autoscale ? { autoscale: service.status.autoscale } : {}) };
    if (canonicalJson(status) !== canonicalJson(service.status ?? {})) {
      await this.store.mutate<Service>('Service', service.metadata.namespace, service.metadata.name, (s) => ({
        ...s, status: { ...status, autoscale: s.status?.autoscale },
      })).catch(ignoreNotFound);
    }
  }

  private async recordMoved(service: Service, { old, replacement }: Move): Promise<void> {
    const why = replacement.spec.replaces?.reason ?? 'Move';
    await this.events.record(
      { kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name }, 'Normal', 'Moved',
      `${why}: replica ${old.metadata.name} on node ${old.spec.nodeName ?? '<none>'} replaced by ${replacement.metadata.name} on node ${replacement.spec.nodeName ?? '<none>'}, which is ready; stopping the old one`,
    );
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof NotFoundError)) throw error;
}

/**
 * Marks a replica for termination; its agent stops the container and reports it gone. A replica
 * that never reached a node has no container, so it is deleted right away.
 */
export async function terminateReplica(store: ObjectStore, replica: Replica): Promise<void> {
  if (!replica.spec.nodeName) {
    await store.delete('Replica', replica.metadata.namespace, replica.metadata.name).catch(() => undefined);
    return;
  }
  await store.mutate<Replica>('Replica', replica.metadata.namespace, replica.metadata.name, (r) => {
    if (r.metadata.deletionTimestamp) return undefined;
    r.metadata.deletionTimestamp = new Date().toISOString();
    r.status = { ...(r.status ?? { ready: false, restartCount: 0, phase: 'Terminating' }), phase: 'Terminating', ready: false };
    return r;
  }).catch(ignoreNotFound);
}
