/**
 * The scheduler's node view, kept between cycles: one `Scheduler` (libs/scheduler, with its indexed
 * placer) built from the cache, then updated node by node as the cache reports changes: a replica
 * bound, ended or deleted makes its node dirty and only dirty nodes are recomputed. A node added or
 * removed, a change of a node's class fields (labels, allocatable, ready, cordoned, images), a cache
 * resync, or a minute gone by rebuilds it from scratch (the last is a guard against drift).
 */
import { Node, Replica, normalizeImageReference } from '@tide/api';
import { NodeInfo, Scheduler, hostPortsOf } from '@tide/scheduler';
import { ClusterCache } from '@tide/store';

const REBUILD_AFTER_MS = 60_000;

export function holdsResources(replica: Replica): boolean {
  const phase = replica.status?.phase;
  return replica.spec.nodeName !== undefined && phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * A node as the scheduler sees it. Images: those the node's agent reported, limited to the images
 * some Service runs (`wanted`); nodes with different image sets are different classes for the
 * indexed placer, and images nobody asks for would split classes for nothing.
 */
export function nodeInfo(node: Node, replicas: Iterable<Replica>, wanted: ReadonlySet<string>): NodeInfo {
  const info: NodeInfo = {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    allocatable: node.status?.allocatable ?? { cpu: 0, memory: 0 },
    requested: { cpu: 0, memory: 0 },
    ready: node.status?.ready ?? false,
    // A node being emptied (drain, consolidation) takes no new replicas, as a cordoned one.
    cordoned: (node.spec.cordoned ?? false) || node.spec.drain !== undefined,
    replicasOfService: {},
    hostPorts: new Set<number>(),
    images: new Set((node.status?.images ?? []).filter((image) => wanted.has(image))),
  };
  for (const replica of replicas) {
    if (replica.spec.nodeName !== info.name || !holdsResources(replica)) continue;
    info.requested.cpu += replica.spec.template.requests.cpuMillis;
    info.requested.memory += replica.spec.template.requests.memoryBytes;
    const key = `${replica.metadata.namespace}/${replica.spec.service}`;
    info.replicasOfService![key] = (info.replicasOfService![key] ?? 0) + 1;
    for (const port of hostPortsOf(replica.spec.template)) (info.hostPorts as Set<number>).add(port);
  }
  return info;
}

/** Every node's view from plain lists (consolidation's what-if); images: those the replicas run. */
export function nodeInfos(nodes: readonly Node[], replicas: readonly Replica[]): NodeInfo[] {
  const byNode = new Map<string, Replica[]>();
  for (const replica of replicas) {
    if (replica.spec.nodeName) byNode.set(replica.spec.nodeName, [...(byNode.get(replica.spec.nodeName) ?? []), replica]);
  }
  const wanted = new Set(replicas.map((r) => normalizeImageReference(r.spec.template.image)));
  return nodes.map((node) => nodeInfo(node, byNode.get(node.metadata.name) ?? [], wanted));
}

/** The images some Service runs, as nodes report them ("name:tag"). */
function wantedImages(cache: ClusterCache): Set<string> {
  return new Set(cache.list('Service').map((s) => normalizeImageReference(s.spec.image)));
}

export class SchedulerView {
  private scheduler?: Scheduler;
  private builtAt = 0;
  private rebuild = true;
  private readonly dirty = new Set<string>();
  private wanted = new Set<string>();
  /** Counters for the benchmark and tests: how the view was kept. */
  readonly stats = { rebuilds: 0, nodeUpdates: 0 };

  constructor(private readonly cache: ClusterCache, private readonly now: () => number = Date.now) {
    cache.onChange((change) => {
      if (change.kind === 'resync' || (change.kind === 'Node' && (!change.previous || !change.current))) this.rebuild = true;
      else if (change.kind === 'Node') this.dirty.add(change.current!.metadata.name);
      else if (change.kind === 'Replica') {
        if (change.previous?.spec.nodeName) this.dirty.add(change.previous.spec.nodeName);
        if (change.current?.spec.nodeName) this.dirty.add(change.current.spec.nodeName);
      } else if (change.kind === 'Service' && change.previous?.spec.image !== change.current?.spec.image) {
        this.wantedChanged();
      }
    });
  }

  /** Nodes whose view must be re-read although the cache reported no change (a refused commit). */
  markDirty(nodes: Iterable<string>): void {
    for (const node of nodes) this.dirty.add(node);
  }

  /** The scheduler, brought up to date with the cache. */
  current(): Scheduler {
    if (!this.scheduler || this.rebuild || this.now() - this.builtAt > REBUILD_AFTER_MS) return this.build();
    for (const name of this.dirty) {
      const node = this.cache.get('Node', 'default', name);
      if (!node) continue; // bindings to a node that is gone: its removal rebuilds
      if (!this.scheduler.update(nodeInfo(node, this.cache.replicasOn(name), this.wanted))) return this.build();
      this.stats.nodeUpdates++;
    }
    this.dirty.clear();
    return this.scheduler;
  }

  private wantedChanged(): void {
    const wanted = wantedImages(this.cache);
    if ([...wanted].sort().join('\n') !== [...this.wanted].sort().join('\n')) this.rebuild = true;
  }

  private build(): Scheduler {
    this.wanted = wantedImages(this.cache);
    const nodes = this.cache.list('Node').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    this.scheduler = new Scheduler(nodes.map((node) => nodeInfo(node, this.cache.replicasOn(node.metadata.name), this.wanted)));
    this.builtAt = this.now();
    this.rebuild = false;
    this.dirty.clear();
    this.stats.rebuilds++;
    return this.scheduler;
  }
}
