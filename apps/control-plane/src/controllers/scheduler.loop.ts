/**
 * One scheduling cycle, from the cache (a consistent snapshot of etcd at one revision):
 * 1. wait until the cache has seen this scheduler's last commits, and bring the kept node view up
 *    to date (scheduler.view.ts);
 * 2. place every Pending replica in one batch (libs/scheduler);
 * 3. commit the bindings in transactions guarded by the nodes' allocation records (binding.commit.ts);
 * 4. replicas of a refused transaction are placed again from a fresh view, a few rounds per cycle;
 * 5. replicas no node takes get their summary and per-node reasons, and an event.
 */
import { Replica, canonicalJson } from '@tide/api';
import { isTerminating, toPending } from '@tide/control';
import { ClusterCache, ObjectStore } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';
import { commitBindings } from './binding.commit';
import { EventRecorder } from './events.recorder';
import { SchedulerView } from './scheduler.view';

/** Refused replicas are placed again at most this many times within one cycle (then next cycle). */
const COMMIT_ROUNDS = 4;

export interface SchedulerLoopOptions {
  /** Called after placement, before each commit round (tests use it to make two schedulers race). */
  beforeCommit?(round: number): Promise<void>;
  /** Which pending replicas this loop places (default all; tests give two loops different ones). */
  select?(replica: Replica): boolean;
}

export class SchedulerLoop {
  readonly view: SchedulerView;
  private lastCommit = 0;
  /** The Scheduled events of the previous commit, being written (events are best effort: never rejects). */
  private recording: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: ClusterCache,
    private readonly events: EventRecorder,
    private readonly metrics: ControlPlaneMetrics,
    private readonly options: SchedulerLoopOptions = {},
  ) {
    this.view = new SchedulerView(cache);
  }

  async cycle(): Promise<void> {
    await this.cache.waitFor(this.lastCommit);
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

  private pending(): Replica[] {
    const select = this.options.select ?? (() => true);
    return this.cache.unboundReplicas().filter((r) => !isTerminating(r) && select(r));
  }

  /** One placement and commit round; answers the replicas of refused transactions. */
  private async placeAndCommit(pending: Replica[], round: number): Promise<Replica[]> {
    const scheduler = this.view.current();
    const byKey = new Map(pending.map((r) => [keyOf(r), r]));
    const result = scheduler.schedule(pending.map(toPending));
    const byNode = new Map<string, Replica[]>();
    for (const { replica, node } of result.bindings) {
      // A copy of the cached object with its own spec and status (the cache's object stays as it is).
      const cached = byKey.get(`${replica.namespace}/${replica.name}`)!;
      const bound: Replica = { ...cached, spec: { ...cached.spec, nodeName: node }, status: { phase: 'Scheduled', ready: false, restartCount: cached.status?.restartCount ?? 0 } };
      const onNode = byNode.get(node);
      if (onNode) onNode.push(bound);
      else byNode.set(node, [bound]);
    }
    await this.options.beforeCommit?.(round);
    const outcome = await commitBindings(this.store, this.cache, byNode, (node) => ({ requested: { ...scheduler.node(node)!.requested } }));
    this.lastCommit = Math.max(this.lastCommit, outcome.revision);
    this.view.markDirty(outcome.refusedNodes);
    this.metrics.schedulingAttempts.inc({ result: 'scheduled' }, outcome.committed.length);
    if (outcome.refused.length) this.metrics.schedulingAttempts.inc({ result: 'conflict' }, outcome.refused.length);
    await this.recordScheduled(outcome.committed);
    for (const u of result.unschedulable) {
      this.metrics.schedulingAttempts.inc({ result: 'unschedulable' });
      await this.markUnschedulable(byKey.get(`${u.replica.namespace}/${u.replica.name}`)!, u.summary, u.reasons);
    }
    return outcome.refused;
  }

  /**
   * The Scheduled events of a commit are written while the next cycle places and commits: a cycle
   * waits only for the previous cycle's events (so at most one cycle's are in flight), not its own.
   */
  private async recordScheduled(committed: Replica[]): Promise<void> {
    await this.recording;
    this.recording = this.events.recordAll(committed.map((r) => ({
      object: { kind: 'Replica' as const, namespace: r.metadata.namespace, name: r.metadata.name },
      type: 'Normal' as const, reason: 'Scheduled', message: `assigned to node ${r.spec.nodeName}`,
    })));
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
