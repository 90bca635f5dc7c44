/**
 * An informer over what the control plane's loops read (Services, Replicas, Nodes, node allocation
 * records), kept in memory: one list of each at one etcd revision, then ONE watch of the whole
 * /tide/v1/ prefix from the next revision. One watch delivers every change in revision order, so
 * after each watch response the cache is a consistent snapshot of etcd at `revision` (separate
 * watches per kind would each be ordered, but not with each other, and the scheduler's binding
 * guard needs replicas and allocation records from the same instant: node.allocations.ts).
 * A watch that fails for good (etcd compacted the revision it would resume from, or cancelled it)
 * is replaced by a fresh list and watch; listeners then hear `resync`.
 */
import { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { Kind, Node, Replica, Service } from '@tide/api';
import { PLURAL, ROOT } from './keys';
import { ALLOCATION_PREFIX, NodeAllocation } from './node.allocations';
import { decodeObject } from './object.store';

export type CachedKind = 'Service' | 'Replica' | 'Node';
type Cached = { Service: Service; Replica: Replica; Node: Node };

export type CacheChange =
  | { kind: 'Service'; previous?: Service; current?: Service }
  | { kind: 'Replica'; previous?: Replica; current?: Replica }
  | { kind: 'Node'; previous?: Node; current?: Node }
  | { kind: 'Allocation'; node: string }
  | { kind: 'resync' };

const KINDS: CachedKind[] = ['Service', 'Replica', 'Node'];
const prefixOf = (kind: Kind) => `${ROOT}${PLURAL[kind]}/`;

export class ClusterCache {
  private objects = new Map<CachedKind, Map<string, Service | Replica | Node>>();
  private allocations = new Map<string, NodeAllocation>();
  private byNode = new Map<string, Map<string, Replica>>();
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

  allocation(node: string): NodeAllocation | undefined {
    return this.allocations.get(node);
  }

  /** Hears every change after it is applied; returns the unsubscribe function. */
  onChange(listener: (change: CacheChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the cache has seen revision `revision` (a write of ours, say), or after the timeout. */
  waitFor(revision: number, timeoutMs = 10_000): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        resolve();
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ revision, resolve: done });
    });
  }

  private async relist(): Promise<void> {
    const first = await this.client.getAll().prefix(prefixOf('Service')).exec();
    const revision = Number(first.header.revision);
    const lists = await Promise.all([
      ...['Replica', 'Node'].map((kind) => this.client.getAll().prefix(prefixOf(kind as Kind)).revision(revision).exec()),
      this.client.getAll().prefix(ALLOCATION_PREFIX).revision(revision).exec(),
    ]);
    this.objects = new Map(KINDS.map((kind) => [kind, new Map()]));
    this.allocations = new Map();
    this.byNode = new Map();
    for (const kv of [...first.kvs, ...lists.flatMap((list) => list.kvs)]) this.apply('put', kv, false);
    this.revision = revision;
    await this.watchFrom(revision + 1);
    this.notify({ kind: 'resync' });
    this.release();
  }

  private async watchFrom(revision: number): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    const watcher = await this.client.watch().prefix(ROOT).startRevision(String(revision)).create();
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
    if (key.startsWith(ALLOCATION_PREFIX)) {
      const node = key.slice(ALLOCATION_PREFIX.length);
      if (type === 'delete') this.allocations.delete(node);
      else this.allocations.set(node, { ...JSON.parse(kv.value.toString()), revision: Number(kv.mod_revision) });
      if (notify) this.notify({ kind: 'Allocation', node });
      return;
    }
    const kind = KINDS.find((k) => key.startsWith(prefixOf(k)));
    if (!kind) return; // events, leases, leader, pod CIDR claims: not cached
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
    const before = previous?.spec.nodeName;
    const after = current?.spec.nodeName;
    if (before && before !== after) this.byNode.get(before)?.delete(id);
    if (after) {
      let onNode = this.byNode.get(after);
      if (!onNode) this.byNode.set(after, (onNode = new Map()));
      onNode.set(id, current!);
    }
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
