/**
 * Typed objects in etcd with optimistic concurrency: resourceVersion is the key's mod revision and
 * every write compares it; generation increments only when the spec changes.
 */
import { randomUUID } from 'node:crypto';
import { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { AnyObject, Kind, Replica, canonicalJson } from '@tide/api';
import { AlreadyExistsError, ConflictError, NotFoundError, ObjectTooLargeError, StoreUnavailableError } from './errors';
import { translateEtcdError } from './etcd.errors';
import { EtcdHealth } from './etcd.health';
import { kindPrefix, objectKey } from './keys';
import { ETCD_MAX_REQUEST_BYTES, MAX_OBJECT_BYTES, describeBytes } from './txn.budget';
import { NodeBindings, allocationKey, replicaKeyOf } from './node.allocations';
import { rangePages } from './paged.range';

export type WatchEvent<T> = { type: 'put'; object: T } | { type: 'delete'; key: string };

export interface ListScope {
  /** Only objects whose name starts with this (within the namespace given). */
  namePrefix?: string;
  /** Keys per etcd response (default DEFAULT_PAGE_SIZE). */
  pageSize?: number;
}

function keyOf(object: AnyObject): string {
  return objectKey(object.kind, object.metadata.namespace, object.metadata.name);
}

export function decodeObject<T extends AnyObject>(kv: IKeyValue): T {
  const object = JSON.parse(kv.value.toString()) as T;
  object.metadata.resourceVersion = String(kv.mod_revision);
  return object;
}

/** What is stored: the object without its resourceVersion (the key's revision is the truth). */
export function encodeObject(object: AnyObject): string {
  const { resourceVersion: _ignored, ...metadata } = object.metadata;
  return JSON.stringify({ ...object, metadata });
}

/**
 * An object as etcd will hold it: its key and JSON, encoded once, and the bytes both take (what
 * batching writers pack by: txn.budget.ts). Encoding is most of a write's CPU in the control plane:
 * a writer that packs makes the forms and hands them to the store's `…Forms` methods, so that each
 * object is encoded once, not once to pack, once per check and once to send.
 */
export interface StoredForm<T extends AnyObject = AnyObject> {
  readonly object: T;
  readonly key: string;
  readonly value: string;
  readonly bytes: number;
}

export function storedForm<T extends AnyObject>(object: T): StoredForm<T> {
  const key = keyOf(object);
  const value = encodeObject(object);
  return { object, key, value, bytes: Buffer.byteLength(key) + Buffer.byteLength(value) };
}

/** Bytes an object takes in etcd (its key and value). */
export function storedSize(object: AnyObject): number {
  return storedForm(object).bytes;
}

/** The object as `create` stores it: generation 1, a new uid, its creation time (a copy). */
export function asCreated<T extends AnyObject>(object: T, now = new Date().toISOString()): T {
  return { ...object, metadata: { ...object.metadata, generation: 1, uid: randomUUID(), creationTimestamp: now } } as T;
}

/** Refuses an object over MAX_OBJECT_BYTES, naming it and its largest spec fields. */
export function assertObjectFits(object: AnyObject, limit = MAX_OBJECT_BYTES): void {
  assertFormFits(storedForm(object), limit);
}

function assertFormFits({ object, bytes: size }: StoredForm, limit = MAX_OBJECT_BYTES): void {
  if (size <= limit) return;
  const spec = ((object as unknown as { spec?: object }).spec ?? {}) as Record<string, unknown>;
  const fields = Object.entries(spec).map(([field, value]) => ({ field, bytes: Buffer.byteLength(JSON.stringify(value) ?? '') }))
    .sort((a, b) => b.bytes - a.bytes).slice(0, 2).map((f) => `spec.${f.field} ${describeBytes(f.bytes)}`);
  throw new ObjectTooLargeError(`${object.kind} ${object.metadata.namespace}/${object.metadata.name} is ${describeBytes(size)} stored, over the ${describeBytes(limit)} an object may take (etcd takes ${describeBytes(ETCD_MAX_REQUEST_BYTES)} per request)${fields.length ? `; largest: ${fields.join(', ')}` : ''}`);
}

export interface ObjectStoreOptions {
  /** etcd's health: calls fail fast (nothing sent) while it is unreachable, and a call that finds it so says it. */
  health?: EtcdHealth;
}

export interface CreateOptions {
  /** An etcd lease the object lives with (Events: they expire with it). */
  lease?: string;
}

export class ObjectStore {
  constructor(readonly client: Etcd3, private readonly options: ObjectStoreOptions = {}) {}

  /**
   * Every etcd call goes through here: refused at once when etcd is known to be unreachable, and
   * its failure translated into the store's errors (etcd.errors.ts).
   */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    this.options.health?.assertReachable();
    try {
      return await request();
    } catch (error) {
      const translated = translateEtcdError(error);
      if (translated instanceof StoreUnavailableError) this.options.health?.noteUnavailable(translated);
      throw translated;
    }
  }

  async get<T extends AnyObject>(kind: T['kind'], namespace: string, name: string): Promise<T | undefined> {
    const response = await this.call(() => this.client.get(objectKey(kind, namespace, name)).exec());
    return response.kvs.length ? decodeObject<T>(response.kvs[0]) : undefined;
  }

  /**
   * The objects of a kind (of one namespace; with `namePrefix`, only those whose name starts with
   * it), read in bounded pages at one revision (paged.range.ts). The control plane's loops and
   * list routes read the ClusterCache instead: this is for what it does not hold (events,
   * revisions) and for tools, always scoped as narrowly as the caller can.
   */
  async list<T extends AnyObject>(kind: T['kind'], namespace?: string, scope: ListScope = {}): Promise<{ items: T[]; revision: number }> {
    const items: T[] = [];
    let revision = 0;
    for await (const page of this.pages<T>(kind, namespace, scope)) {
      for (const item of page.items) items.push(item);
      revision = page.revision;
    }
    return { items, revision };
  }

  /** Like list, one page at a time: a caller that filters keeps only what it wants in memory. */
  async *pages<T extends AnyObject>(kind: T['kind'], namespace?: string, scope: ListScope = {}): AsyncGenerator<{ items: T[]; revision: number }> {
    if (scope.namePrefix !== undefined && namespace === undefined && kind !== 'Node') throw new Error(`${kind}: a name prefix needs a namespace`);
    const prefix = kindPrefix(kind, namespace) + (scope.namePrefix ?? '');
    this.options.health?.assertReachable();
    try {
      for await (const page of rangePages(this.client, prefix, { pageSize: scope.pageSize })) {
        yield { items: page.kvs.map((kv) => decodeObject<T>(kv)), revision: page.revision };
      }
    } catch (error) {
      throw translateEtcdError(error);
    }
  }

  async create<T extends AnyObject>(object: T, options: CreateOptions = {}): Promise<T> {
    const form = storedForm(asCreated(object));
    assertFormFits(form);
    const { object: stored, key } = form;
    const result = await this.call(() => this.client.if(key, 'Create', '==', 0).then(this.put(key, form.value, options.lease)).commit());
    if (!result.succeeded) throw new AlreadyExistsError(`${object.kind} ${object.metadata.namespace}/${object.metadata.name} exists already`);
    stored.metadata.resourceVersion = String(result.header.revision);
    return stored;
  }

  /** Writes the object if nobody changed it since its resourceVersion was read. */
  async update<T extends AnyObject>(object: T, previous?: T): Promise<T> {
    const key = keyOf(object);
    const revision = object.metadata.resourceVersion;
    if (!revision) throw new ConflictError(`${key}: update without resourceVersion`);
    const specChanged = previous !== undefined && canonicalJson(previous.spec) !== canonicalJson(object.spec);
    const stored = {
      ...object,
      metadata: { ...object.metadata, generation: (object.metadata.generation ?? 1) + (specChanged ? 1 : 0) },
    } as T;
    const form = storedForm(stored);
    assertFormFits(form);
    const result = await this.call(() => this.client.if(key, 'Mod', '==', revision).then(this.client.put(key).value(form.value)).commit());
    if (!result.succeeded) throw new ConflictError(`${object.kind} ${object.metadata.namespace}/${object.metadata.name} changed meanwhile (resourceVersion ${revision} is stale)`);
    stored.metadata.resourceVersion = String(result.header.revision);
    return stored;
  }

  /** Read-modify-write with retries on conflict. The mutator returns undefined to write nothing. */
  async mutate<T extends AnyObject>(kind: T['kind'], namespace: string, name: string, mutator: (current: T) => T | undefined): Promise<T> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.get<T>(kind, namespace, name);
      if (!current) throw new NotFoundError(`${kind} ${namespace}/${name} not found`);
      const next = mutator(structuredClone(current));
      if (!next) return current;
      try {
        return await this.update(next, current);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
    throw new ConflictError(`${kind} ${namespace}/${name}: too many concurrent writers`);
  }

  /**
   * Deletes an object and, in the same transaction, the objects that go with it (a Service's
   * revisions): all or nothing, so an error never leaves the object deleted and its request failed.
   * False (nothing deleted) when the object does not exist.
   */
  async deleteWith(kind: Kind, namespace: string, name: string, dependents: readonly { kind: Kind; namespace: string; name: string }[]): Promise<boolean> {
    const key = objectKey(kind, namespace, name);
    const others = dependents.map((d) => objectKey(d.kind, d.namespace, d.name));
    const result = await this.call(() => this.client.if(key, 'Create', '>', 0)
      .then(this.client.delete().key(key), ...others.map((other) => this.client.delete().key(other))).commit());
    return result.succeeded;
  }

  async delete(kind: Kind, namespace: string, name: string, resourceVersion?: string): Promise<boolean> {
    const key = objectKey(kind, namespace, name);
    if (resourceVersion === undefined) {
      const response = await this.call(() => this.client.delete().key(key).exec());
      return Number(response.deleted) > 0;
    }
    const result = await this.call(() => this.client.if(key, 'Mod', '==', resourceVersion).then(this.client.delete().key(key)).commit());
    if (!result.succeeded) throw new ConflictError(`${kind} ${namespace}/${name} changed meanwhile`);
    return true;
  }

  /**
   * Writes all objects in one transaction that succeeds only if none of them changed since read
   * (a status report's batch). Nothing is written on conflict (`updated` false); `revision` is
   * etcd's at the commit or at the refusal (a cache that new has seen whatever refused it).
   */
  async updateAll(objects: AnyObject[]): Promise<{ updated: boolean; revision: number }> {
    return this.updateForms(objects.map((object) => storedForm(object)));
  }

  /** updateAll of objects already encoded (storedForm), each as read (its resourceVersion compared). */
  async updateForms(forms: readonly StoredForm[]): Promise<{ updated: boolean; revision: number }> {
    if (forms.length === 0) return { updated: true, revision: 0 };
    assertFormsFit(forms);
    let txn = this.client.if(forms[0].key, 'Mod', '==', forms[0].object.metadata.resourceVersion!);
    for (const form of forms.slice(1)) txn = txn.and(form.key, 'Mod', '==', form.object.metadata.resourceVersion!);
    const result = await this.call(() => txn.then(...forms.map((form) => this.client.put(form.key).value(form.value))).commit());
    return { updated: result.succeeded, revision: Number(result.header.revision) };
  }

  /**
   * Creates all objects in one transaction, none if any exists already (false then): the service
   * controller's batch of new replicas, one round trip instead of one per replica. `objects`: as
   * stored (uid, creation time, generation, resourceVersion), when created.
   */
  async createAll<T extends AnyObject>(objects: T[], options: CreateOptions = {}): Promise<{ created: boolean; revision: number; objects: T[] }> {
    const now = new Date().toISOString();
    return this.createForms(objects.map((object) => storedForm(asCreated(object, now))), options);
  }

  /** createAll of objects already made as created (asCreated) and encoded (storedForm). */
  async createForms<T extends AnyObject>(forms: readonly StoredForm<T>[], options: CreateOptions = {}): Promise<{ created: boolean; revision: number; objects: T[] }> {
    if (forms.length === 0) return { created: true, revision: 0, objects: [] };
    assertFormsFit(forms);
    let txn = this.client.if(forms[0].key, 'Create', '==', 0);
    for (const form of forms.slice(1)) txn = txn.and(form.key, 'Create', '==', 0);
    const result = await this.call(() => txn.then(...forms.map((form) => this.put(form.key, form.value, options.lease))).commit());
    const revision = Number(result.header.revision);
    if (!result.succeeded) return { created: false, revision, objects: [] };
    const stored = forms.map((form) => form.object);
    for (const object of stored) object.metadata.resourceVersion = String(revision);
    return { created: true, revision, objects: stored };
  }

  /**
   * The scheduler's binding commit (node.allocations.ts): compares every node record's revision and
   * every replica's (a replica without a resourceVersion must not exist yet: etcd compares a missing
   * key's mod revision as 0, and the transaction creates it bound), writes the replicas and the
   * records. Nothing is written when any compare fails;
   * the answer's revision is etcd's at the commit or at the refusal (a view at least that new has
   * seen whatever made it fail).
   */
  async commitBindings(groups: readonly NodeBindings[], forms?: ReadonlyMap<Replica, StoredForm<Replica>>): Promise<{ committed: boolean; revision: number }> {
    const compares: [string, number][] = [];
    const puts: [string, string][] = [];
    for (const group of groups) {
      const { requested, sequence } = group;
      compares.push([allocationKey(group.node), group.expectedRevision]);
      puts.push([allocationKey(group.node), JSON.stringify({ requested, sequence })]);
      for (const replica of group.replicas) {
        compares.push([replicaKeyOf(replica), Number(replica.metadata.resourceVersion ?? 0)]);
        puts.push([replicaKeyOf(replica), forms?.get(replica)?.value ?? encodeObject(replica)]);
      }
    }
    if (compares.length === 0) return { committed: true, revision: 0 };
    assertTxnFits(puts.map(([key, value]) => Buffer.byteLength(key) + Buffer.byteLength(value)));
    let txn = this.client.if(compares[0][0], 'Mod', '==', compares[0][1]);
    for (const [key, revision] of compares.slice(1)) txn = txn.and(key, 'Mod', '==', revision);
    const result = await this.call(() => txn.then(...puts.map(([key, value]) => this.client.put(key).value(value))).commit());
    return { committed: result.succeeded, revision: Number(result.header.revision) };
  }

  private put(key: string, value: string, lease?: string) {
    const put = this.client.put(key).value(value);
    return lease ? put.lease(lease) : put;
  }

  /** Watches a kind from a revision on; the handler sees puts and deletes in order. */
  async watch<T extends AnyObject>(kind: T['kind'], handler: (event: WatchEvent<T>) => void, fromRevision?: number): Promise<Watcher> {
    let builder = this.client.watch().prefix(kindPrefix(kind));
    if (fromRevision !== undefined) builder = builder.startRevision(String(fromRevision));
    const watcher = await builder.create();
    watcher.on('put', (kv) => handler({ type: 'put', object: decodeObject<T>(kv) }));
    watcher.on('delete', (kv) => handler({ type: 'delete', key: kv.key.toString() }));
    return watcher;
  }
}

/**
 * A batch the caller packed over etcd's request limit: a bug of the caller (each packs with
 * packByBytes), refused here with the figures rather than by etcd with "request is too large".
 */
/** Each object within MAX_OBJECT_BYTES, and all of them within one etcd request. */
function assertFormsFit(forms: readonly StoredForm[]): void {
  forms.forEach((form) => assertFormFits(form));
  assertTxnFits(forms.map((form) => form.bytes));
}

function assertTxnFits(sizes: number[]): void {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const limit = ETCD_MAX_REQUEST_BYTES - 64 * 1024;
  if (total > limit) throw new ObjectTooLargeError(`a transaction of ${sizes.length} objects is ${describeBytes(total)}, over the ${describeBytes(limit)} etcd takes per request: pack it with packByBytes`);
}
