/**
 * One scheduling cycle, from the cache (a consistent snapshot of etcd at one revision) and what this
 * scheduler knows the cache does not show yet:
 * 1. bring the kept node view up to date (scheduler.view.ts);
 * 2. place every Pending replica in one batch (libs/scheduler): those the cache holds, and those the
 *    service controller just created (`offer`, before the watch brings them); a replica using a named
 *    local volume only on the node holding it (libs/control local.volumes.ts);
 * 3. commit the bindings in transactions guarded by the nodes' allocation records (binding.commit.ts);
 * 4. replicas of a refused transaction are placed again from a fresh view, a few rounds per cycle;
 * 5. replicas no node takes get their summary and per-node reasons, and an event.
 *
 * Fresh replicas skip the first write: the service controller hands them over before storing them
 * (`createPlaced`), and those placed are created bound by the binding transaction itself (each
 * compares the replica's key absent). One write per replica instead of a create and a binding,
 * and no cycle between the two; the rest (no room now, a refused transaction) are created Pending
 * as before and placed by the cycles.
 *
 * A cycle does not wait for the watch to bring its own commits back: until the cache shows a
 * commit's revision, the scheduler keeps what it committed (the bound replicas, each node's
 * allocation record after its commit), and its node view counts those bindings on top of the
 * cache. That is exact: a commit succeeds only if nobody bound to its nodes since the view it was
 * placed from, so each such node holds that view plus the commit's bindings, and the next commit
 * there compares the record this one wrote.
 */
import { Replica, canonicalJson } from '@tide/api';
import { isTerminating, localVolumeHolders, pendingBatch } from '@tide/control';
import { Binding, Scheduler } from '@tide/scheduler';
import { ClusterCache, NodeAllocation, ObjectStore } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';
import { BindingOutcome, commitBindings } from './binding.commit';
import { EventRecorder } from './events.recorder';
import { SchedulerView } from './scheduler.view';

/** Refused replicas are placed again at most this many times within one cycle (then next cycle). */
const COMMIT_ROUNDS = 4;
/** Scheduled events that may be waiting to be written before a cycle waits for the oldest cycle's. */
const EVENT_BACKLOG = 20_000;

export interface SchedulerLoopOptions {
  /** Called after placement, before each commit round (tests use it to make two schedulers race). */
  beforeCommit?(round: number): Promise<void>;
  /** Which pending replicas this loop places (default all; tests give two loops different ones). */
  select?(replica: Replica): boolean;
}

export class SchedulerLoop {
  readonly view: SchedulerView;
  /** The highest revision this scheduler wrote or was refused at: a view that new has seen it all. */
  private lastCommit = 0;
  /** Replicas it bound (as bound), by key, with a revision the cache shows them bound at. */
  private readonly boundUnseen = new Map<string, { replica: Replica; revision: number }>();
  /** The same, by node. */
  private readonly unseenOn = new Map<string, Map<string, Replica>>();
  /** Nodes it bound to: their allocation record after its last commit, until the cache shows it. */
  private readonly nodesUnseen = new Map<string, Pick<NodeAllocation, 'revision' | 'sequence'>>();
  /** Replicas created (resourceVersion set) that the cache may not hold yet. */
  private readonly offered = new Map<string, Replica>();
  /** Each cycle's Scheduled events being written, oldest first (events are best effort: never rejects). */
  private recording: { written: Promise<void>; count: number }[] = [];
  private eventsInFlight = 0;
  /** Cycles and `createPlaced` take turns: each places from a view that counts the other's commits. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: ClusterCache,
    private readonly events: EventRecorder,
    private readonly metrics: ControlPlaneMetrics,
    private readonly options: SchedulerLoopOptions = {},
  ) {
    this.view = new SchedulerView(cache, Date.now, (node) => [...(this.unseenOn.get(node)?.values() ?? [])]);
  }

  /**
   * Replicas just created (each with the resourceVersion of its create): the next cycle places them
   * without waiting for the watch. A binding compares that revision, so a replica changed or
   * deleted meanwhile is simply refused.
   */
  offer(replicas: readonly Replica[]): void {
    for (const replica of replicas) if (replica.metadata.resourceVersion) this.offered.set(keyOf(replica), replica);
  }

  /**
   * Places replicas not stored yet (made as created: uid, creation time) and creates the placed
   * ones bound. Answers the revision of its commits and the replicas it did not create, which the
   * caller creates Pending: those no node takes now, those of refused transactions (a node's record
   * or a name taken meanwhile), and those this loop does not select.
   */
  createPlaced(fresh: readonly Replica[]): Promise<{ left: Replica[]; revision: number }> {
    return this.inTurn(async () => {
      this.forgetSeen();
      const select = this.options.select ?? (() => true);
      const mine = fresh.filter((r) => !r.metadata.resourceVersion && select(r));
      if (mine.length === 0) return { left: [...fresh], revision: 0 };
      const scheduler = this.view.current();
      const result = scheduler.schedule(pendingBatch(mine, () => this.localVolumeHolders()));
      const outcome = await this.commit(scheduler, mine, result.bindings);
      this.lastCommit = Math.max(this.lastCommit, outcome.revision);
      const created = new Set(outcome.committed.map(keyOf));
      return { left: fresh.filter((r) => !created.has(keyOf(r))), revision: outcome.revision };
    });
  }

  cycle(): Promise<void> {
    return this.inTurn(() => this.placePending());
  }

  private inTurn<T>(run: () => Promise<T>): Promise<T> {
    const done = this.turn.then(run);
    this.turn = done.catch(() => undefined);
    return done;
  }

  private async placePending(): Promise<void> {
    const stopTimer = this.metrics.schedulingCycle.startTimer();
    let pending = this.pending();
    this.metrics.pendingReplicas.set(pending.length);
    for (let round = 0; round < COMMIT_ROUNDS && pending.length > 0; round++) {
      const refused = await this.placeAndCommit(pending, round);
      if (refused.length === 0) break;
      // A fresh view: the cache has seen whatever refused the transactions (and our own commits).
      await this.cache.waitFor(this.lastCommit);
      const again = new Set(refused.map(keyOf));
      pending = this.pending().filter((r) => again.has(keyOf(r)));
    }
    stopTimer();
  }

  /**
   * What this scheduler committed or was offered and the cache now shows is the cache's again. The
   * maps hold entries in the order they came, which is nearly revision order: each is walked from
   * its oldest entry to the first one the cache has not reached (a later entry with a lower revision
   * stays a little longer, which only keeps the view conservative), so a cycle does not walk them all.
   */
  private forgetSeen(): void {
    const seen = this.cache.revision;
    for (const [key, { replica, revision }] of this.boundUnseen) {
      if (revision > seen) break;
      this.boundUnseen.delete(key);
      const onNode = this.unseenOn.get(replica.spec.nodeName!);
      onNode?.delete(key);
      if (onNode?.size === 0) this.unseenOn.delete(replica.spec.nodeName!);
    }
    for (const [node, record] of this.nodesUnseen) {
      if (record.revision > seen) break;
      this.nodesUnseen.delete(node);
    }
    for (const [key, replica] of this.offered) {
      if (Number(replica.metadata.resourceVersion) > seen) break;
      this.offered.delete(key);
    }
  }

  /** Which node holds each named local volume: the cache's view and this scheduler's own bindings it does not show yet. */
  private localVolumeHolders(): Map<string, string> {
    const bound = this.cache.list('Replica').filter((r) => r.spec.nodeName && r.spec.template.volumes?.some((v) => v.localVolume));
    return localVolumeHolders(this.cache.list('Node'), [...bound, ...[...this.boundUnseen.values()].map((b) => b.replica)]);
  }

  /** A node's allocation record: the cache's, or the one this scheduler's own newer commit wrote. */
  private allocation(node: string): Pick<NodeAllocation, 'revision' | 'sequence'> | undefined {
    const cached = this.cache.allocation(node);
    const own = this.nodesUnseen.get(node);
    return own && own.revision > (cached?.revision ?? 0) ? own : cached;
  }

  private pending(): Replica[] {
    this.forgetSeen();
    const select = this.options.select ?? (() => true);
    const unbound = this.cache.unboundReplicas();
    for (const replica of this.offered.values()) if (!this.cache.get('Replica', replica.metadata.namespace, replica.metadata.name)) unbound.push(replica);
    if (this.boundUnseen.size === 0) return unbound.filter((r) => !isTerminating(r) && select(r));
    return unbound.filter((r) => !isTerminating(r) && select(r) && !this.boundUnseen.has(keyOf(r)));
  }

  /** One placement and commit round; answers the replicas of refused transactions. */
  private async placeAndCommit(pending: Replica[], round: number): Promise<Replica[]> {
    const scheduler = this.view.current();
    const result = scheduler.schedule(pendingBatch(pending, () => this.localVolumeHolders()));
    await this.options.beforeCommit?.(round);
    const outcome = await this.commit(scheduler, pending, result.bindings);
    this.lastCommit = Math.max(this.lastCommit, outcome.revision);
    const byKey = new Map(pending.map((r) => [keyOf(r), r]));
    for (const u of result.unschedulable) {
      this.metrics.schedulingAttempts.inc({ result: 'unschedulable' });
      await this.markUnschedulable(byKey.get(`${u.replica.namespace}/${u.replica.name}`)!, u.summary, u.reasons);
    }
    // The committed transactions are booked; a failed one ends the cycle (the runner logs it, the
    // next cycle places its replicas again).
    if (outcome.errors.length > 0) throw outcome.errors[0];
    return outcome.refused;
  }

  /**
   * Commits placements of `placed` (stored replicas, or fresh ones the commit creates) and books
   * what it committed: the view counts it until the cache shows it, metrics, Scheduled events.
   */
  private async commit(scheduler: Scheduler, placed: Replica[], bindings: readonly Binding[]): Promise<BindingOutcome> {
    const byKey = new Map(placed.map((r) => [keyOf(r), r]));
    const byNode = new Map<string, Replica[]>();
    for (const { replica, node } of bindings) {
      // A copy of the cached object with its own spec and status (the cache's object stays as it is).
      const cached = byKey.get(`${replica.namespace}/${replica.name}`)!;
      const bound: Replica = { ...cached, spec: { ...cached.spec, nodeName: node }, status: { phase: 'Scheduled', ready: false, restartCount: cached.status?.restartCount ?? 0 } };
      const onNode = byNode.get(node);
      if (onNode) onNode.push(bound);
      else byNode.set(node, [bound]);
    }
    const outcome = await commitBindings(this.store, (node) => this.allocation(node), byNode, (node) => ({ requested: { ...scheduler.node(node)!.requested } }));
    for (const [node, record] of outcome.committedNodes) {
      this.nodesUnseen.delete(node); // re-inserted last: the map stays in commit order
      this.nodesUnseen.set(node, record);
    }
    for (const replica of outcome.committed) {
      const node = replica.spec.nodeName!;
      // The node's last committed part: by then every part of it, this replica's included, is written.
      this.boundUnseen.set(keyOf(replica), { replica, revision: outcome.committedNodes.get(node)!.revision });
      const onNode = this.unseenOn.get(node) ?? new Map<string, Replica>();
      this.unseenOn.set(node, onNode.set(keyOf(replica), replica));
    }
    // A refused node's view is read again from a cache that has seen the refusal (cycle() waits for it).
    for (const node of outcome.refusedNodes) this.nodesUnseen.delete(node);
    this.view.markDirty(outcome.refusedNodes);
    this.metrics.schedulingAttempts.inc({ result: 'scheduled' }, outcome.committed.length);
    if (outcome.refused.length) this.metrics.schedulingAttempts.inc({ result: 'conflict' }, outcome.refused.length);
    await this.recordScheduled(outcome.committed);
    return outcome;
  }

  /**
   * The Scheduled events of a commit are written while the next cycles place and commit: a cycle
   * waits only while more than EVENT_BACKLOG events are still to be written (for the oldest cycle's),
   * never for its own.
   */
  private async recordScheduled(committed: Replica[]): Promise<void> {
    while (this.eventsInFlight > EVENT_BACKLOG && this.recording.length > 0) await this.recording[0].written;
    const written = this.events.recordAll(committed.map((r) => ({
      object: { kind: 'Replica' as const, namespace: r.metadata.namespace, name: r.metadata.name },
      type: 'Normal' as const, reason: 'Scheduled', message: `assigned to node ${r.spec.nodeName}`,
    })));
    const entry = { written, count: committed.length };
    this.recording.push(entry);
    this.eventsInFlight += entry.count;
    void written.then(() => {
      this.recording = this.recording.filter((e) => e !== entry);
      this.eventsInFlight -= entry.count;
    });
  }

  private async markUnschedulable(replica: Replica, summary: string, reasons: Record<string, string>): Promise<void> {
    const unschedulable = { summary, nodes: reasons };
    if (canonicalJson(replica.status?.unschedulable ?? {}) === canonicalJson(unschedulable)) return;
    const { namespace, name } = replica.metadata;
    const written = await this.store.mutate<Replica>('Replica', namespace, name, (r) => {
      if (r.spec.nodeName) return undefined;
      r.status = { ...(r.status ?? { phase: 'Pending', ready: false, restartCount: 0 }), unschedulable, message: summary };
      return r;
    }).catch(() => undefined);
    this.lastCommit = Math.max(this.lastCommit, Number(written?.metadata.resourceVersion ?? 0));
    await this.events.record({ kind: 'Replica', namespace, name }, 'Warning', 'FailedScheduling', summary);
  }
}

function keyOf(replica: Replica): string {
  return `${replica.metadata.namespace}/${replica.metadata.name}`;
}
