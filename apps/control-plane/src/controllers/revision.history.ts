/**
 * A Service's revision history: one ServiceRevision per distinct template it ran
 * (`/tide/v1/revisions/NS/SERVICE-N`), numbered in the order they were applied, the last
 * REVISION_HISTORY_LIMIT kept. A template applied again (an undo) takes the next number and its
 * older entry goes, as in Kubernetes. Only the leader's service controller writes them.
 */
import { API_VERSION, REVISION_HISTORY_LIMIT, Service, ServiceRevision, templateSpecOf } from '@tide/api';
import { AlreadyExistsError, ObjectStore } from '@tide/store';

export function revisionName(service: string, revision: number): string {
  return `${service}-${revision}`;
}

/**
 * The revisions of one Service, oldest first: only its own keys are read (names start with
 * "SERVICE-"; another Service named "SERVICE-x" shares that prefix and is filtered out), in pages.
 */
export async function listRevisions(store: ObjectStore, namespace: string, service: string): Promise<ServiceRevision[]> {
  const { items } = await store.list<ServiceRevision>('ServiceRevision', namespace, { namePrefix: `${service}-` });
  return items.filter((r) => r.spec.service === service).sort((a, b) => a.spec.revision - b.spec.revision);
}

/**
 * The revision number of `service`'s current template (`hash`), recorded if it is not the newest
 * yet. Idempotent: a control plane that stopped between the write and the Service's status finds
 * its revision the newest and reuses it.
 */
export async function recordRevision(store: ObjectStore, service: Service, hash: string): Promise<number> {
  const { namespace, name } = service.metadata;
  for (let attempt = 0; attempt < 5; attempt++) {
    const revisions = await listRevisions(store, namespace, name);
    const newest = revisions[revisions.length - 1];
    if (newest?.spec.templateHash === hash) return newest.spec.revision;
    const number = (newest?.spec.revision ?? 0) + 1;
    try {
      await store.create<ServiceRevision>({
        apiVersion: API_VERSION, kind: 'ServiceRevision', metadata: { name: revisionName(name, number), namespace },
        spec: { service: name, revision: number, templateHash: hash, template: templateSpecOf(service.spec) },
      });
    } catch (error) {
      if (error instanceof AlreadyExistsError) continue; // another writer took the number: look again
      throw error;
    }
    // The template's older entry, and the oldest beyond the limit (the new one counted).
    const others = revisions.filter((r) => r.spec.templateHash !== hash);
    const dropped = [...revisions.filter((r) => r.spec.templateHash === hash), ...others.slice(0, Math.max(0, others.length + 1 - REVISION_HISTORY_LIMIT))];
    for (const r of dropped) await store.delete('ServiceRevision', namespace, r.metadata.name).catch(() => undefined);
    return number;
  }
  throw new Error(`service ${namespace}/${name}: could not record its revision (too many concurrent writers)`);
}

/**
 * Deletes a Service and its history in one transaction (read first: a store that cannot be read
 * deletes nothing). False when the Service does not exist. A revision the service controller
 * records between the read and the delete (a template applied that very moment) outlives its
 * Service, and a new Service of the same name would count it as its own oldest entry.
 */
export async function deleteServiceAndRevisions(store: ObjectStore, namespace: string, service: string): Promise<boolean> {
  const revisions = await listRevisions(store, namespace, service);
  return store.deleteWith('Service', namespace, service, revisions.map((r) => ({ kind: 'ServiceRevision' as const, namespace, name: r.metadata.name })));
}
