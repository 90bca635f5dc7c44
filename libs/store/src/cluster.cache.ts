/**
 * An informer over what the control plane reads (Services, Replicas, Nodes, node allocation
 * records, node liveness keys), kept in memory: every prefix listed in bounded pages at one etcd
 * revision (paged.range.ts), then ONE watch from the next revision. One watch delivers every change
 * in revision order, so after each watch response the cache is a consistent snapshot of etcd at
 * `revision` (separate watches per kind would each be ordered, but not with each other, and the
 * scheduler's binding guard needs replicas and allocation records from the same instant:
 * node.allocations.ts). The watch covers the whole keyspace, not only /tide/v1/: then every etcd
 * revision reaches the cache (the leader election's keys live outside /tide/v1/), which is what lets
 * `fresh()` wait for "everything written so far" without the wait hanging on a revision it never sees.
 * A watch that fails for good (etcd compacted the revision it would resume from, or cancelled it)
 * is replaced by a fresh list and watch; listeners then hear `resync`.
 */
import { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { Kind, Node, Replica, Service } from '@tide/api';
import { LEASE_PREFIX, PLURAL, ROOT } from './keys';
import { ALLOCATION_PREFIX, NodeAllocation } from './node.allocations';
import { NODE_CERTIFICATES_PREFIX, decodeNodeCertificates } from './node.certificates';
import { decodeObject } from './object.store';
import { rangeAll } from './paged.range';

export type CachedKind = 'Service' | 'Replica' | 'Node';
type Cached = { Service: Service; Replica: Replica; Node: Node };
export type CachedObject<K extends CachedKind> = Cached[K];

export type CacheChange =
  | { kind: 'Service'; previous?: Service; current?: Service }
  | { kind: 'Replica'; previous?: Replica; current?: Replica }
  | { kind: 'Node'; previous?: Node; current?: Node }
  | { kind: 'Allocation'; node: string }
  | { kind: 'Lease'; node: string; alive: boolean }
  /** The serials of a node's honoured certificates changed (node.certificates.ts): a signing, or a revocation. */
  | { kind: 'NodeCertificates'; node: string; serials?: readonly string[] }
  | { kind: 'resync' };

const KINDS: CachedKind[] = ['Service', 'Replica', 'Node'];
const prefixOf = (kind: Kind) => `${ROOT}${PLURAL[kind]}/`;

export class ClusterCache {
  private objects = new Map<CachedKind, Map<string, Service | Replica | Node>>();
  private allocations = new Map<string, NodeAllocation>();
  private byNode = new Map<string, Map<string, Replica>>();
  private byService = new Map<string, Map<string, Replica>>();
  /** Replicas with no spec.nodeName: the scheduler's input, without a pass over every replica. */
  private unbound = new Map<string, Replica>();
  private leases = new Set<string>();
  private certificates = new Map<string, readonly string[]>();
  private readonly listeners = new Set<(change: CacheChange) => void>();
  private waiters: { revision: number; resolve: () => void }[] = [];
  private watcher?: Watcher;
  private stopped = false;
  /** Every change up to this etcd revision is in the cache. */
  revision = 0;

  constructor(private readonly client: Etcd3, private readonly log: (line: string) => void = () => undefined) {}

  /** Lists and starts watching; resolves once the cache holds a consistent snapshot. */
  async start(): Promise<void> {
    await this.relist();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
  }

  list<K extends CachedKind>(kind: K): Cached[K][] {
    return [...(this.objects.get(kind)?.values() ?? [])] as Cached[K][];
  }

  get<K extends CachedKind>(kind: K, namespace: string, name: string): Cached[K] | undefined {
    return this.objects.get(kind)?.get(kind === 'Node' ? name : `${namespace}/${name}`) as Cached[K] | undefined;
  }

  /** Replicas whose spec.nodeName is the node (an index kept as the watch goes). */
  replicasOn(node: string): Replica[] {
    return [...(this.byNode.get(node)?.values() ?? [])];
  }

  /** Replicas not bound to a node (no spec.nodeName), indexed as the watch goes. */
  unboundReplicas(): Replica[] {
    return [...this.unbound.values()];
  }

  /** Replicas of one Service (`spec.service` in the namespace), indexed as the watch goes. */
  replicasOf(namespace: string, service: string): Replica[] {
    return [...(this.byService.get(`${namespace}/${service}`)?.values() ?? [])];
  }

  allocation(node: string): NodeAllocation | undefined {
    return this.allocations.get(node);
  }

  /** The serial numbers of the node's certificates the cluster honours (undefined: none, e.g. revoked). */
  nodeCertificateSerials(node: string): readonly string[] | undefined {
    return this.certificates.get(node);
  }

  /** Nodes whose liveness key (node.leases.ts) exists: their lease has not expired. */
  aliveNodes(): Set<string> {
    return new Set(this.leases);
  }

  /**
   * Resolves once the cache holds everything etcd had committed when this was called (one
   * single-key read for etcd's revision, then a wait for the watch): a list route that answers from
   * the cache after this shows the caller's own writes, as a read from etcd would. False when the
   * watch did not catch up within the timeout (the cache is behind).
   */
  async fresh(timeoutMs = 5000): Promise<boolean> {
    const response = await this.client.kv.range({ key: Buffer.from(ROOT), limit: 1, keys_only: true });
    return this.waitFor(Number(response.header.revision), timeoutMs);
  }

  /** Hears every change after it is applied; returns the unsubscribe function. */
  onChange(listener: (change: CacheChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the cache has seen revision `revision` (a write of ours, say): true; or after the timeout: false. */
  waitFor(revision: number, timeoutMs = 10_000): Promise<boolean> {
    if (this.revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push({ revision, resolve: done });
    });
  }

  private async relist(): Promise<void> {
    const first = await rangeAll(this.client, prefixOf('Service'));
    const revision = first.revision;
    const others = await Promise.all([...['Replica', 'Node'].map((kind) => prefixOf(kind as Kind)), ALLOCATION_PREFIX, LEASE_PREFIX, NODE_CERTIFICATES_PREFIX]
      .map((prefix) => rangeAll(this.client, prefix, { revision })));
    if (this.stopped) return;
    this.objects = new Map(KINDS.map((kind) => [kind, new Map()]));
    this.allocations = new Map();
    this.byNode = new Map();
    this.byService = new Map();
    this.unbound = new Map();
    this.leases = new Set();
    this.certificates = new Map();
    for (const list of [first, ...others]) for (const kv of list.kvs) this.apply('put', kv, false);
    this.revision = revision;
    // The state is a consistent snapshot at `revision` already: listeners may read it now; the
    // watch from the next revision brings every change after it.
    this.notify({ kind: 'resync' });
    this.release();
    await this.watchFrom(revision + 1);
  }

  private async watchFrom(revision: number): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    const watcher = await this.client.watch().prefix('').startRevision(String(revision)).create();
    // Stopped while the watch was being created (a relist after a failure): it must not outlive stop().
    if (this.stopped) return void (await watcher.cancel().catch(() => undefined));
    this.watcher = watcher;
    watcher.on('data', (response: IWatchResponse) => {
      if (watcher !== this.watcher) return;
      for (const event of response.events) this.apply(event.type === 'Delete' ? 'delete' : 'put', event.kv, true);
      this.revision = Math.max(this.revision, Number(response.header.revision));
      this.release();
    });
    // A disconnection is resumed by etcd3 from the last revision seen; an error is the end of this watch.
    watcher.on('error', (error: Error) => {
      if (watcher !== this.watcher || this.stopped) return;
      this.log(`cache watch failed (${error.message}): listing again`);
      this.watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      setTimeout(() => void this.relistUntilDone(), 200);
    });
  }

  private async relistUntilDone(): Promise<void> {
    while (!this.stopped) {
      try {
        return await this.relist();
      } catch (error) {
        this.log(`cache relist failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private apply(type: 'put' | 'delete', kv: IKeyValue, notify: boolean): void {
    const key = kv.key.toString();
    if (key.startsWith(LEASE_PREFIX)) {
      const node = key.slice(LEASE_PREFIX.length);
      if (type === 'delete') this.leases.delete(node);
      else this.leases.add(node);
      if (notify) this.notify({ kind: 'Lease', node, alive: type === 'put' });
      return;
    }
    if (key.startsWith(ALLOCATION_PREFIX)) {
      const node = key.slice(ALLOCATION_PREFIX.length);
      if (type === 'delete') this.allocations.delete(node);
      else this.allocations.set(node, { ...JSON.parse(kv.value.toString()), revision: Number(kv.mod_revision) });
      if (notify) this.notify({ kind: 'Allocation', node });
      return;
    }
    if (key.startsWith(NODE_CERTIFICATES_PREFIX)) {
      const node = key.slice(NODE_CERTIFICATES_PREFIX.length);
      const serials = type === 'delete' ? undefined : decodeNodeCertificates(kv.value.toString());
      if (serials) this.certificates.set(node, serials);
      else this.certificates.delete(node);
      if (notify) this.notify({ kind: 'NodeCertificates', node, serials });
      return;
    }
    const kind = KINDS.find((k) => key.startsWith(prefixOf(k)));
    if (!kind) return; // events, revisions, the election, pod CIDR claims: not cached
    const id = key.slice(prefixOf(kind).length);
    const map = this.objects.get(kind)!;
    const previous = map.get(id);
    const current = type === 'put' ? decodeObject<Service | Replica | Node>(kv) : undefined;
    if (current) map.set(id, current);
    else map.delete(id);
    if (kind === 'Replica') this.index(id, previous as Replica | undefined, current as Replica | undefined);
    if (notify) this.notify({ kind, previous, current } as CacheChange);
  }

  private index(id: string, previous: Replica | undefined, current: Replica | undefined): void {
    reindex(this.byNode, id, previous?.spec.nodeName, current?.spec.nodeName, current);
    const serviceOf = (r: Replica | undefined) => (r ? `${r.metadata.namespace}/${r.spec.service}` : undefined);
    reindex(this.byService, id, serviceOf(previous), serviceOf(current), current);
    if (current && !current.spec.nodeName) this.unbound.set(id, current);
    else this.unbound.delete(id);
  }

  private notify(change: CacheChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log(`cache listener failed: ${(error as Error).message}`);
      }
    }
  }

  private release(): void {
    const ready = this.waiters.filter((w) => w.revision <= this.revision);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > this.revision);
    for (const waiter of ready) waiter.resolve();
  }
}

/** Moves `id` from the `before` bucket to the `after` one (either may be absent); drops empty buckets. */
function reindex(buckets: Map<string, Map<string, Replica>>, id: string, before: string | undefined, after: string | undefined, current: Replica | undefined): void {
  if (before && before !== after) {
    const bucket = buckets.get(before);
    bucket?.delete(id);
    if (bucket?.size === 0) buckets.delete(before);
  }
  if (after && current) {
    let bucket = buckets.get(after);
    if (!bucket) buckets.set(after, (bucket = new Map()));
    bucket.set(id, current);
  }
}
