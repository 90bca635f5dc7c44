/**
 * The scheduler's node view, kept between cycles: one `Scheduler` (libs/scheduler, with its indexed
 * placer) built from the cache, then updated node by node as the cache reports changes: a replica
 * bound, ended or deleted makes its node dirty and only dirty nodes are recomputed. A node added or
 * removed, a change of a node's class fields (labels, allocatable, ready, cordoned, images), a cache
 * resync, or a minute gone by rebuilds it from scratch (the last is a guard against drift).
 */
import { Replica, normalizeImageReference } from '@tide/api';
import { nodeInfo } from '@tide/control';
import { Scheduler } from '@tide/scheduler';
import { ClusterCache } from '@tide/store';

const REBUILD_AFTER_MS = 60_000;

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

  /**
   * `unseen(node)`: replicas the owner bound to the node that the cache may not show there yet (its
   * commits the watch has not brought): the view counts them too, once.
   */
  constructor(
    private readonly cache: ClusterCache,
    private readonly now: () => number = Date.now,
    private readonly unseen: (node: string) => readonly Replica[] = () => [],
  ) {
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
      if (!this.scheduler.update(nodeInfo(node, this.replicasOn(name), this.wanted))) return this.build();
      this.stats.nodeUpdates++;
    }
    this.dirty.clear();
    return this.scheduler;
  }

  /** The node's replicas as the cache shows them, and the owner's bindings there it does not show yet. */
  private replicasOn(node: string): Replica[] {
    const cached = this.cache.replicasOn(node);
    const unseen = this.unseen(node);
    if (unseen.length === 0) return cached;
    const shown = new Set(cached.map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
    return [...cached, ...unseen.filter((r) => !shown.has(`${r.metadata.namespace}/${r.metadata.name}`))];
  }

  private wantedChanged(): void {
    const wanted = wantedImages(this.cache);
    if ([...wanted].sort().join('\n') !== [...this.wanted].sort().join('\n')) this.rebuild = true;
  }

  private build(): Scheduler {
    this.wanted = wantedImages(this.cache);
    const nodes = this.cache.list('Node').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    this.scheduler = new Scheduler(nodes.map((node) => nodeInfo(node, this.replicasOn(node.metadata.name), this.wanted)));
    this.builtAt = this.now();
    this.rebuild = false;
    this.dirty.clear();
    this.stats.rebuilds++;
    return this.scheduler;
  }
}
