/**
 * An agent's status report applied to the stored Replicas. The changed statuses of one report are
 * written in few transactions, each comparing the revisions the cache holds (a node starting 40
 * replicas sends one report, not 40 read-modify-writes); a transaction refused because the cache
 * was behind falls back to one read-modify-write per replica.
 */
import { NodeStatusReport, Replica, ReportedReplicaStatus, canonicalJson } from '@tide/api';
import { reportedStatus } from '@tide/control';
import { ClusterCache, NotFoundError, ObjectStore } from '@tide/store';
import { EventRecorder } from './controllers/events.recorder';

const STATUSES_PER_TXN = 100;

export async function applyStatusReport(store: ObjectStore, cache: ClusterCache, events: EventRecorder, report: NodeStatusReport): Promise<void> {
  const node = report.nodeName;
  const changed: { next: Replica; reported: ReportedReplicaStatus }[] = [];
  for (const reported of report.replicas) {
    const replica = cache.get('Replica', reported.namespace, reported.name);
    // Unknown to the cache, or not (yet) on this node as far as it knows: read etcd itself.
    if (!replica || replica.spec.nodeName !== node) {
      await applyOne(store, events, node, reported);
      continue;
    }
    const status = reportedStatus(replica, reported);
    if (canonicalJson(status) === canonicalJson(replica.status ?? {})) continue;
    changed.push({ next: { ...replica, status }, reported });
    await recordRestart(events, replica, reported);
  }
  for (let i = 0; i < changed.length; i += STATUSES_PER_TXN) {
    const batch = changed.slice(i, i + STATUSES_PER_TXN);
    if (await store.updateAll(batch.map((c) => c.next))) continue;
    for (const { reported } of batch) await applyOne(store, events, node, reported, false);
  }
  await removeFinished(store, cache, report);
}

/** One status by read-modify-write against etcd itself. */
async function applyOne(store: ObjectStore, events: EventRecorder, node: string, reported: ReportedReplicaStatus, withEvent = true): Promise<void> {
  let before: Replica | undefined;
  await store.mutate<Replica>('Replica', reported.namespace, reported.name, (r) => {
    if (r.spec.nodeName !== node) return undefined;
    before = structuredClone(r);
    const status = reportedStatus(r, reported);
    if (canonicalJson(status) === canonicalJson(r.status ?? {})) return undefined;
    r.status = status;
    return r;
  }).catch((error) => {
    if (!(error instanceof NotFoundError)) throw error;
  });
  if (before && withEvent) await recordRestart(events, before, reported);
}

async function recordRestart(events: EventRecorder, before: Replica, reported: ReportedReplicaStatus): Promise<void> {
  const exit = reported.lastExit;
  if (!exit || reported.restartCount <= (before.status?.restartCount ?? 0)) return;
  await events.record({ kind: 'Replica', namespace: reported.namespace, name: reported.name },
    'Warning', exit.reason, `container exited (${exit.code !== null ? `code ${exit.code}` : exit.signal ?? 'unknown'}); restart ${reported.restartCount}`);
}

/**
 * A terminating replica the agent does not report has no container there (any more): it is gone.
 * So is one it reports in `gone` that is terminating or was moved to another node.
 */
async function removeFinished(store: ObjectStore, cache: ClusterCache, report: NodeStatusReport): Promise<void> {
  const reported = new Set(report.replicas.map((r) => `${r.namespace}/${r.name}`));
  for (const r of cache.replicasOn(report.nodeName)) {
    if (r.metadata.deletionTimestamp && !reported.has(`${r.metadata.namespace}/${r.metadata.name}`)) {
      await store.delete('Replica', r.metadata.namespace, r.metadata.name, r.metadata.resourceVersion).catch(() => undefined);
    }
  }
  for (const key of report.gone) {
    const [namespace, name] = key.split('/');
    const replica = await store.get<Replica>('Replica', namespace, name);
    if (replica && (replica.metadata.deletionTimestamp || replica.spec.nodeName !== report.nodeName)) {
      await store.delete('Replica', namespace, name, replica.metadata.resourceVersion).catch(() => undefined);
    }
  }
}
