/**
 * An agent's status report applied to the stored Replicas. The changed statuses of one report are
 * written in few transactions, each comparing the revisions the cache holds (a node starting 40
 * replicas sends one report, not 40 read-modify-writes). A transaction refused because the cache
 * was behind is computed again once the cache has seen what refused it (a few times), then falls
 * back to one read-modify-write per replica. Reports of one node go through `StatusReports` one
 * after the other, each once the cache holds the previous one's writes: otherwise a report
 * arriving while its predecessor is being written compares the revisions that write replaces.
 */
import { NodeStatusReport, Replica, ReportedReplicaStatus, canonicalJson } from '@tide/api';
import { reportChangesNothing, reportedStatus } from '@tide/control';
import { ClusterCache, NotFoundError, ObjectStore, packByBytes, storedForm } from '@tide/store';
import { EventRecorder } from './controllers/events.recorder';
import { Limiter } from './parallel';

/** A refused batch is computed again from a newer cache this many times before going one by one. */
const CACHE_RETRIES = 2;
/** How long a report waits for the cache to show its writes (then the next report goes anyway). */
const CACHE_WAIT_MS = 2000;

/** Reports applied at once (each a few transactions): 500 nodes reporting together would fill etcd's queue. */
const REPORTS_AT_ONCE = 8;

/** Applies each node's reports in the order they come, every node independently, REPORTS_AT_ONCE at a time. */
export class StatusReports {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly limiter = new Limiter(REPORTS_AT_ONCE);

  constructor(private readonly store: ObjectStore, private readonly cache: ClusterCache, private readonly events: EventRecorder) {}

  apply(report: NodeStatusReport): Promise<void> {
    const node = report.nodeName;
    const applied = (this.tails.get(node) ?? Promise.resolve()).then(() => this.limiter.run(() => applyStatusReport(this.store, this.cache, this.events, report)));
    const tail = applied.catch(() => undefined);
    this.tails.set(node, tail);
    void tail.then(() => {
      if (this.tails.get(node) === tail) this.tails.delete(node);
    });
    return applied;
  }
}

export async function applyStatusReport(store: ObjectStore, cache: ClusterCache, events: EventRecorder, report: NodeStatusReport): Promise<void> {
  const node = report.nodeName;
  let pending = report.replicas;
  let written = 0;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const { changed, elsewhere } = changedStatuses(cache, node, pending);
    // Unknown to the cache, or not (yet) on this node as far as it knows: read etcd itself.
    for (const reported of elsewhere) await applyOne(store, events, node, reported);
    const refused: ReportedReplicaStatus[] = [];
    // Packed by bytes (txn.budget.ts): replicas of a service with a large template fit a few per transaction.
    const formed = changed.map((c) => ({ ...c, form: storedForm(c.next) }));
    for (const batch of packByBytes(formed, (c) => c.form.bytes)) {
      const { updated, revision } = await store.updateForms(batch.map((c) => c.form));
      written = Math.max(written, revision);
      if (updated) {
        for (const { before, reported } of batch) await recordRestart(events, before, reported);
      } else {
        refused.push(...batch.map((c) => c.reported));
      }
    }
    if (refused.length > 0 && attempt >= CACHE_RETRIES) {
      for (const reported of refused) await applyOne(store, events, node, reported);
      break;
    }
    pending = refused;
    await cache.waitFor(written, CACHE_WAIT_MS);
  }
  await removeFinished(store, cache, report);
}

/** The reported statuses that change what the cache holds, and those the cache cannot judge. */
function changedStatuses(cache: ClusterCache, node: string, reports: ReportedReplicaStatus[]): {
  changed: { before: Replica; next: Replica; reported: ReportedReplicaStatus }[]; elsewhere: ReportedReplicaStatus[];
} {
  const changed: { before: Replica; next: Replica; reported: ReportedReplicaStatus }[] = [];
  const elsewhere: ReportedReplicaStatus[] = [];
  for (const reported of reports) {
    const replica = cache.get('Replica', reported.namespace, reported.name);
    if (!replica || replica.spec.nodeName !== node) {
      elsewhere.push(reported);
      continue;
    }
    if (reportChangesNothing(replica, reported)) continue;
    const status = reportedStatus(replica, reported);
    if (canonicalJson(status) === canonicalJson(replica.status ?? {})) continue;
    changed.push({ before: replica, next: { ...replica, status }, reported });
  }
  return { changed, elsewhere };
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
