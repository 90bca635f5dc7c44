/**
 * One dashboard's watch stream (docs/REFERENCE.md, `GET /api/v1/watch`): a snapshot of the cache's
 * Nodes, Services and Replicas as compact views, then what changed. Fed by the control plane's
 * watch-fed cache (libs/store ClusterCache), never by reads from etcd: a thousand open dashboards
 * cost a thousand listeners on one cache, not a thousand watches.
 *
 * Changes are batched: a change only marks its key dirty; a flush, at most one per `flushMs`, sends
 * each dirty object once at its current state (level-triggered, as the controllers are), so a
 * rollout of 10,000 replicas is a few messages, not 10,000. While the client reads slower than the
 * changes come (the socket's buffer is full), nothing more is written: the dirty keys keep
 * collecting and go in one message when the socket drains.
 */
import {
  nodeView, replicaView, serviceView, viewKey, type DashboardChanges, type DashboardPermissions, type DashboardSnapshot, type DashboardUsage,
  type NodeUsageView, type ViewChanges,
} from '@tide/api';
import type { CacheChange, ClusterCache } from '@tide/store';

/** Longest wait between a change and the message that carries it (one batch). */
export const DEFAULT_FLUSH_MS = 100;
/** A comment line this often keeps proxies and browsers from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** How often the nodes' used CPU and memory go out (the agents report about once a second). */
export const DEFAULT_USAGE_MS = 3000;

/** Where the stream's messages go: an HTTP response in the route, a recording in tests. */
export interface StreamSink {
  /** False when the socket's buffer is full: wait for `onDrain` before writing more. */
  write(chunk: string): boolean;
  onDrain(callback: () => void): void;
}

export interface DashboardStreamOptions {
  /** The namespace whose Services and Replicas are sent; undefined: all. Nodes are cluster-wide. */
  namespace?: string;
  subject: string;
  may: DashboardPermissions;
  flushMs?: number;
  /** The nodes' usage now (UsageCache); absent: the caller may not read it, and none is sent. */
  usage?: () => NodeUsageView[];
  usageMs?: number;
}

type Keys = { nodes: Set<string>; services: Set<string>; replicas: Set<string> };

export class DashboardStream {
  private dirty: Keys = { nodes: new Set(), services: new Set(), replicas: new Set() };
  private resync = false;
  private timer?: NodeJS.Timeout;
  private keepalive?: NodeJS.Timeout;
  private usageTimer?: NodeJS.Timeout;
  /** What the client was last sent of each node's usage: only changes go again. */
  private usageSent = new Map<string, NodeUsageView>();
  private blocked = false;
  private unsubscribe?: () => void;

  constructor(private readonly cache: ClusterCache, private readonly sink: StreamSink, private readonly options: DashboardStreamOptions) {}

  start(): void {
    this.unsubscribe = this.cache.onChange((change) => this.mark(change));
    this.send('snapshot', this.snapshot());
    this.keepalive = setInterval(() => {
      if (!this.blocked) this.blocked = !this.sink.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    if (this.options.usage) {
      this.sendUsage();
      this.usageTimer = setInterval(() => this.sendUsage(), this.options.usageMs ?? DEFAULT_USAGE_MS);
    }
  }

  stop(): void {
    this.unsubscribe?.();
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    clearInterval(this.usageTimer);
  }

  /** The nodes whose usage changed since the last message (skipped while the socket is full: the next one catches up). */
  private sendUsage(): void {
    if (this.blocked) return;
    const usage = usageChanges(this.usageSent, this.options.usage!());
    if (usage.nodes.length + usage.unknown.length === 0) return;
    for (const node of usage.nodes) this.usageSent.set(node.name, node);
    for (const name of usage.unknown) this.usageSent.delete(name);
    this.send('usage', usage);
  }

  private mark(change: CacheChange): void {
    switch (change.kind) {
      case 'resync':
        this.resync = true;
        break;
      case 'Node':
        this.dirty.nodes.add((change.current ?? change.previous)!.metadata.name);
        break;
      case 'Service':
      case 'Replica': {
        const { namespace, name } = (change.current ?? change.previous)!.metadata;
        if (this.options.namespace !== undefined && namespace !== this.options.namespace) return;
        (change.kind === 'Service' ? this.dirty.services : this.dirty.replicas).add(viewKey({ namespace, name }));
        break;
      }
      default:
        return; // allocations, leases, certificates: not shown
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.blocked) return;
    this.timer = setTimeout(() => this.flush(), this.options.flushMs ?? DEFAULT_FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.resync) {
      // The cache was rebuilt from a fresh list: whatever was dirty is in the new snapshot.
      this.resync = false;
      this.dirty = { nodes: new Set(), services: new Set(), replicas: new Set() };
      this.send('snapshot', this.snapshot());
      return;
    }
    const changes = this.changes();
    this.dirty = { nodes: new Set(), services: new Set(), replicas: new Set() };
    this.send('changes', changes);
  }

  private send(event: 'snapshot' | 'changes' | 'usage', data: DashboardSnapshot | DashboardChanges | DashboardUsage): void {
    if (this.sink.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) return;
    this.blocked = true;
    this.sink.onDrain(() => {
      this.blocked = false;
      if (this.resync || this.dirty.nodes.size + this.dirty.services.size + this.dirty.replicas.size > 0) this.schedule();
    });
  }

  private snapshot(): DashboardSnapshot {
    const inScope = (object: { metadata: { namespace: string } }) => this.options.namespace === undefined || object.metadata.namespace === this.options.namespace;
    return {
      revision: this.cache.revision,
      namespace: this.options.namespace ?? '*',
      subject: this.options.subject,
      may: this.options.may,
      nodes: this.cache.list('Node').map(nodeView),
      services: this.cache.list('Service').filter(inScope).map(serviceView),
      replicas: this.cache.list('Replica').filter(inScope).map(replicaView),
    };
  }

  private changes(): DashboardChanges {
    const nodes = collect(this.dirty.nodes, (name) => this.cache.get('Node', 'default', name), nodeView);
    const services = collect(this.dirty.services, (key) => this.cache.get('Service', ...split(key)), serviceView);
    const replicas = collect(this.dirty.replicas, (key) => this.cache.get('Replica', ...split(key)), replicaView);
    return { revision: this.cache.revision, nodes, services, replicas };
  }
}

/** The nodes whose numbers differ from what was sent, and those sent before that are no longer reported. */
export function usageChanges(sent: ReadonlyMap<string, NodeUsageView>, now: NodeUsageView[]): DashboardUsage {
  const reported = new Set(now.map((node) => node.name));
  return {
    nodes: now.filter((node) => sent.get(node.name)?.cpu !== node.cpu || sent.get(node.name)?.memory !== node.memory),
    unknown: [...sent.keys()].filter((name) => !reported.has(name)),
  };
}

/** Each dirty key as the cache holds it now: a view to show, or gone. */
function collect<T, V>(keys: Set<string>, current: (key: string) => T | undefined, view: (object: T) => V): ViewChanges<V> {
  const changes: ViewChanges<V> = { upsert: [], remove: [] };
  for (const key of keys) {
    const object = current(key);
    if (object === undefined) changes.remove.push(key);
    else changes.upsert.push(view(object));
  }
  return changes;
}

function split(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
