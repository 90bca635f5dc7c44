/**
 * Keeps every Service's replicas matching its spec; terminates the replicas of deleted Services.
 * Services sync independently: one whose writes fail (too large, refused) gets a SyncFailed event
 * and is retried with back-off, while every other service goes on. etcd unavailable or out of space
 * concerns every service alike: no back-off then, the next pass simply tries again.
 */
import { Replica, Service, ServiceStatus, canonicalJson, replicaTemplate, templateHash } from '@tide/api';
import { Move, RetryBackoff, ServicePlan, isTerminating, newReplica, planService, progressingCondition, rolloutCounts, serviceStatus } from '@tide/control';
import {
  AlreadyExistsError, ClusterCache, ConflictError, NotFoundError, ObjectStore, StoreNoSpaceError, StoreUnavailableError, StoredForm, asCreated, packByBytes, storedForm,
} from '@tide/store';
import { inParallel } from '../parallel';
import { EventRecorder } from './events.recorder';
import { recordRevision } from './revision.history';

/**
 * New replicas are created in transactions packed by bytes and count (txn.budget.ts: a service with
 * a large template fits a few per transaction), this many transactions in flight: etcd commits
 * concurrent requests together.
 */
const CREATE_CONCURRENCY = 8;
/** A batch refused for a taken (random) name is renamed and tried again this many times in all. */
const RENAME_ATTEMPTS = 3;
/** Services whose events, revision and status a pass writes at once. */
const FINISH_CONCURRENCY = 16;

interface ReplicaCreate {
  /** The service's namespace/name: a failure is that service's alone. */
  key: string;
  replica: Replica;
  /** Given for fresh replicas (random names, renamed when taken); not for replacements. */
  service?: Service;
}

/** A create with the replica as it will be stored, encoded once (packed by its bytes, then sent). */
interface FormedCreate extends ReplicaCreate {
  form: StoredForm<Replica>;
}

function withForm(create: ReplicaCreate): FormedCreate {
  return { ...create, form: storedForm(asCreated(create.replica)) };
}

interface ServicePass {
  key: string;
  service: Service;
  replicas: Replica[];
  plan: ServicePlan;
}

/**
 * Places fresh replicas before they are stored and creates the placed ones bound (the scheduler's
 * `createPlaced`); answers those it did not create, and the revision of its writes.
 */
export type CreatePlaced = (fresh: readonly Replica[]) => Promise<{ left: Replica[]; revision: number }>;

export class ServiceController {
  /** The revision of our latest write: a pass reads the cache only once it has seen it (read your writes). */
  private written = 0;
  /** Services whose last sync failed, left alone until their back-off has passed. */
  private readonly backoff = new RetryBackoff();

  /**
   * `onCreated`: the replicas a transaction created Pending, as stored (the scheduler takes them
   * before the watch brings them); `createPlaced`: fresh replicas go through it first.
   */
  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly cache: ClusterCache,
    private readonly onCreated: (replicas: Replica[]) => void = () => undefined,
    private readonly createPlaced?: CreatePlaced,
  ) {}

  async sync(): Promise<void> {
    // Without this, a pass right after creating replicas would not see them yet and create more.
    await this.cache.waitFor(this.written);
    const services: Service[] = this.cache.list('Service');
    const replicas: Replica[] = this.cache.list('Replica');
    const byService = new Map<string, Replica[]>();
    for (const replica of replicas) {
      const key = `${replica.metadata.namespace}/${replica.spec.service}`;
      const own = byService.get(key);
      if (own) own.push(replica);
      else byService.set(key, [replica]);
    }
    const passes: ServicePass[] = [];
    for (const service of services) {
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      const own = byService.get(key) ?? [];
      byService.delete(key);
      if (this.backoff.due(key)) passes.push({ key, service, replicas: own, plan: planService(service, own) });
    }
    // Every service's new replicas first, in concurrent transactions: the scheduler then places the
    // last service's replicas without waiting for every other service's revision record, events
    // and status write. Then those, for every service at once (each service's own steps in order).
    const createFailures = await this.createAll(passes.flatMap(({ key, service, plan }) => [
      ...plan.create.map((replica) => ({ key, replica, service })), ...plan.replace.map((replica) => ({ key, replica })),
    ]));
    let storeFailure: unknown;
    await inParallel(passes, FINISH_CONCURRENCY, async (pass) => {
      try {
        if (createFailures.has(pass.key)) throw createFailures.get(pass.key);
        await this.finishService(pass.service, pass.replicas, pass.plan);
        if (this.backoff.succeeded(pass.key)) await this.events.record(serviceRef(pass.service), 'Normal', 'Synced', 'replicas are being synced again');
      } catch (error) {
        // etcd unavailable or full is every service's trouble, not this one's: no back-off, the
        // next pass tries again (and the runner logs it); anything else is the service's own.
        if (isStoreWide(error)) storeFailure = error;
        else await this.syncFailed(pass.service, pass.key, error);
      }
    });
    // Replicas whose Service is gone.
    for (const orphans of byService.values()) {
      for (const replica of orphans) if (!isTerminating(replica)) await terminateReplica(this.store, replica);
    }
    if (storeFailure) throw storeFailure;
  }

  /** A Warning event on the service, and its back-off: the next passes leave it alone for a while. */
  private async syncFailed(service: Service, key: string, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const { failures, retryAt } = this.backoff.failed(key, message);
    const seconds = Math.max(1, Math.round((retryAt - Date.now()) / 1000));
    await this.events.record(serviceRef(service), 'Warning', 'SyncFailed', `${message}; retrying in ${seconds} s (failure ${failures} in a row)`);
  }

  /** What a pass does for a service after its creates: terminations, finished moves, events, status. */
  private async finishService(service: Service, replicas: Replica[], plan: ServicePlan): Promise<void> {
    const ref = { kind: 'Service' as const, namespace: service.metadata.namespace, name: service.metadata.name };
    for (const replica of plan.terminate) {
      this.wrote(await terminateReplica(this.store, replica));
      // The replica goes with its Replica object: the Service's events keep why (describe service, get events).
      if (replica.status?.lastExit?.reason === 'Evicted') {
        await this.events.record(ref, 'Warning', 'Evicted', `replica ${replica.metadata.name} on node ${replica.spec.nodeName ?? '<none>'}: ${replica.status.message ?? 'evicted'}; replaced`);
      }
    }
    for (const move of plan.completed) await this.recordMoved(service, move);
    if (plan.create.length || plan.scaledIn) {
      const live = replicas.filter((r) => !isTerminating(r)).length + plan.create.length - plan.terminate.length;
      await this.events.record(ref, 'Normal', 'Scaled',
        `${plan.create.length} replica(s) created, ${plan.scaledIn} terminated: ${live} of ${service.spec.replicas} wanted`);
    }
    if (plan.replace.length) await this.events.record(ref, 'Normal', 'Updating', rolloutStepMessage(plan));
    await this.writeStatus(service, replicas);
  }

  /** Counts, the template's revision and the rollout's condition; fields other controllers own are kept. */
  private async writeStatus(service: Service, replicas: Replica[]): Promise<void> {
    const hash = templateHash(replicaTemplate(service));
    const revision = service.status?.templateHash === hash && service.status.revision
      ? service.status.revision : await recordRevision(this.store, service, hash);
    const counts = rolloutCounts(replicas, hash);
    const { condition, event } = progressingCondition({ service, hash, revision, counts, previous: service.status, now: new Date() });
    const status: ServiceStatus = {
      ...serviceStatus(service, replicas), revision, templateHash: hash,
      updatedReplicas: counts.updated, updatedReadyReplicas: counts.updatedReady, oldReplicas: counts.old, conditions: [condition],
    };
    if (canonicalJson({ ...service.status, ...status }) === canonicalJson(service.status ?? {})) return;
    // One round trip on the cached Service; when it changed meanwhile, a read-modify-write.
    const { namespace, name } = service.metadata;
    this.wrote(await this.store.update({ ...service, status: { ...service.status, ...status } }, service).catch((error: unknown) => {
      if (!(error instanceof ConflictError)) throw error;
      return this.store.mutate<Service>('Service', namespace, name, (s) => ({ ...s, status: { ...s.status, ...status } }));
    }).catch(ignoreNotFound));
    if (event) await this.events.record({ kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name }, event.type, event.reason, event.message);
  }

  private async recordMoved(service: Service, { old, replacement }: Move): Promise<void> {
    const why = replacement.spec.replaces?.reason ?? 'Move';
    await this.events.record(
      { kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name }, 'Normal', 'Moved',
      `${why}: replica ${old.metadata.name} on node ${old.spec.nodeName ?? '<none>'} replaced by ${replacement.metadata.name} on node ${replacement.spec.nodeName ?? '<none>'}, which is ready; stopping the old one`,
    );
  }

  /**
   * In transactions packed by bytes, up to CREATE_CONCURRENCY at once. A transaction that fails
   * with several services' replicas is tried again one service at a time, so that one service's
   * failure is its own. Answers the services whose creates failed, with the error.
   */
  private async createAll(all: ReplicaCreate[]): Promise<Map<string, unknown>> {
    const failures = new Map<string, unknown>();
    const creates = await this.createBound(all);
    const forms = creates.map((create) => withForm(create));
    await inParallel(packByBytes(forms, (c) => c.form.bytes), CREATE_CONCURRENCY, async (batch) => {
      try {
        await this.createBatch(batch);
      } catch (error) {
        const keys = [...new Set(batch.map((c) => c.key))];
        if (keys.length === 1) return void failures.set(keys[0], error);
        for (const key of keys) await this.createBatch(batch.filter((c) => c.key === key)).catch((e: unknown) => void failures.set(key, e));
      }
    });
    return failures;
  }

  /**
   * Fresh replicas (not replacements: a move's replacement goes where its own rules say) are
   * placed and created bound by the scheduler; answers the creates still to do, Pending.
   */
  private async createBound(creates: ReplicaCreate[]): Promise<ReplicaCreate[]> {
    const fresh = this.uniquelyNamed(creates.filter((c) => c.service)).map((c) => ({ ...c, replica: asCreated(c.replica) }));
    if (!this.createPlaced || fresh.length === 0) return creates;
    const placed = await this.createPlaced(fresh.map((c) => c.replica));
    this.written = Math.max(this.written, placed.revision);
    const left = new Set(placed.left);
    return [...creates.filter((c) => !c.service), ...fresh.filter((c) => left.has(c.replica))];
  }

  /**
   * Fresh names are random (5 of 27 letters a service): in a burst of a thousand replicas two match
   * about once in thirty, and a transaction with a taken name is refused whole. Such a one, or one
   * the cache holds already, is named again before anything is written.
   */
  private uniquelyNamed(fresh: ReplicaCreate[]): ReplicaCreate[] {
    const names = new Set<string>();
    const taken = ({ replica: { metadata: { namespace, name } } }: ReplicaCreate) =>
      names.has(`${namespace}/${name}`) || this.cache.get('Replica', namespace, name) !== undefined;
    return fresh.map((create) => {
      let named = create;
      for (let attempt = 0; attempt < RENAME_ATTEMPTS && taken(named); attempt++) named = { ...create, replica: newReplica(create.service!) };
      names.add(`${named.replica.metadata.namespace}/${named.replica.metadata.name}`);
      return named;
    });
  }

  /**
   * One transaction, refused when one of its names is taken: fresh replicas (random names,
   * `service` given) are renamed and tried again; a replacement's name is derived from the replica
   * it replaces (a taken one means the move exists already), so those are then created one by one
   * and the taken ones skipped.
   */
  private async createBatch(first: FormedCreate[]): Promise<void> {
    let batch = first;
    for (let attempt = 0; attempt < RENAME_ATTEMPTS; attempt++) {
      const { created, revision, objects } = await this.store.createForms(batch.map((c) => c.form));
      this.written = Math.max(this.written, revision);
      if (created) return this.onCreated(objects);
      if (batch.some((c) => !c.service)) break;
      batch = batch.map(({ key, service }) => withForm({ key, replica: newReplica(service!), service }));
    }
    for (const { replica } of batch) {
      this.wrote(await this.store.create(replica).catch((error: unknown) => {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }));
    }
  }

  private wrote(object: { metadata: { resourceVersion?: string } } | void | undefined): void {
    this.written = Math.max(this.written, Number(object?.metadata.resourceVersion ?? 0));
  }
}

/** "replacing web-1a2b3-xxxxx (web-9f8e7-yyyyy), ...; retiring web-...": one step of a rollout. */
function rolloutStepMessage(plan: ServicePlan): string {
  const retired = new Set(plan.terminate.map((r) => r.metadata.name));
  const pairs = plan.replace.map((r) => `${r.spec.replaces!.replica}${retired.has(r.spec.replaces!.replica) ? ' (retired at once)' : ''} by ${r.metadata.name}`);
  return `rolling update: replacing ${pairs.join(', ')}`;
}

function isStoreWide(error: unknown): boolean {
  return error instanceof StoreUnavailableError || error instanceof StoreNoSpaceError;
}

function serviceRef(service: Service): { kind: 'Service'; namespace: string; name: string } {
  return { kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name };
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof NotFoundError)) throw error;
}

/**
 * Marks a replica for termination; its agent stops the container and reports it gone. A replica
 * that never reached a node has no container, so it is deleted right away.
 */
export async function terminateReplica(store: ObjectStore, replica: Replica): Promise<Replica | void> {
  if (!replica.spec.nodeName) {
    await store.delete('Replica', replica.metadata.namespace, replica.metadata.name).catch(() => undefined);
    return;
  }
  return store.mutate<Replica>('Replica', replica.metadata.namespace, replica.metadata.name, (r) => {
    if (r.metadata.deletionTimestamp) return undefined;
    r.metadata.deletionTimestamp = new Date().toISOString();
    r.status = { ...(r.status ?? { ready: false, restartCount: 0, phase: 'Terminating' }), phase: 'Terminating', ready: false };
    return r;
  }).catch(ignoreNotFound);
}
