/**
 * The node autoscaler's loop (leader only): libs/control's pure plans acted on through a
 * NodeProvider. Each pass reads the cache:
 * - replicas the scheduler could not place (`status.unschedulable`) → `planScaleUp` (the
 *   scheduler's own what-if over the registered nodes, the booting ones and new template nodes)
 *   → the provider makes that many nodes; nodes still booting count as coming, so the next passes
 *   add nothing for the same replicas;
 * - the pool's nodes left empty (by consolidation or a scale-in) for the delay → `planScaleDown` →
 *   the node's certificates are revoked, the provider stops it, and the Node is removed.
 * Every decision is an Event with its reason (NodeScaleUp, NodeScaleUpLimited, NoNodeShapeFits,
 * NodeScaleDown). Only nodes the provider made are ever removed.
 */
import { Node, Replica } from '@tide/api';
import { NodeEvent, NodePool, NodeProvider, nodeInfos, planScaleDown, planScaleUp, toPending, trackEmpty } from '@tide/control';
import { ClusterCache, ObjectStore } from '@tide/store';
import { EventRecorder } from './events.recorder';

export interface NodeAutoscalerSettings {
  pool: NodePool;
  /** How long a node of the pool must stay empty before it is handed back. */
  scaleDownDelaySeconds: number;
}

export class NodeAutoscalerController {
  private emptySince = new Map<string, number>();
  /** The scale-up decision already taken for this set of pending replicas (no repeated Event each pass). */
  private lastPlan = '';

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly cache: ClusterCache,
    private readonly provider: NodeProvider,
    private readonly settings: NodeAutoscalerSettings,
    /** Revokes a node's certificates before it goes (its agent cannot come back as that node). */
    private readonly revoke: (node: string) => Promise<unknown>,
    private readonly now: () => number = Date.now,
  ) {}

  async sync(): Promise<void> {
    await this.cache.fresh();
    const { pool } = this.settings;
    const made = await this.provider.list(pool.name);
    const names = new Set(made.map((n) => n.name));
    const nodes = this.cache.list('Node');
    const replicas = this.cache.list('Replica');
    const poolNodes = nodes.filter((n) => names.has(n.metadata.name));
    const booting = made.filter((m) => !poolNodes.some((n) => n.metadata.name === m.name && n.status?.ready)).length;
    const pending = replicas.filter((r) => !r.spec.nodeName && !r.metadata.deletionTimestamp && r.status?.unschedulable);
    await this.scaleUp(nodes, replicas, pending, made.length, booting);
    // No node goes back while replicas wait for room: a node that has just joined is empty until
    // the scheduler's next cycle places them there.
    if (pending.length === 0) await this.scaleDown(poolNodes.filter((n) => n.status?.ready), replicas, booting);
    else this.emptySince.clear();
  }

  private async scaleUp(nodes: Node[], replicas: Replica[], pending: Replica[], poolSize: number, booting: number): Promise<void> {
    if (pending.length === 0) return void (this.lastPlan = '');
    const { pool } = this.settings;
    const plan = planScaleUp({ pool, nodes: nodeInfos(nodes, replicas), poolSize, booting, pending: pending.map(toPending) });
    const key = `${pending.map((r) => r.metadata.name).sort().join(',')} ${plan.add} ${booting}`;
    if (plan.add === 0 && key === this.lastPlan) return;
    this.lastPlan = key;
    const added: string[] = [];
    for (let i = 0; i < plan.add; i++) added.push((await this.provider.create(pool)).name);
    await this.record(plan.events, added);
  }

  private async scaleDown(ready: Node[], replicas: Replica[], booting: number): Promise<void> {
    const nowMs = this.now();
    this.emptySince = trackEmpty(this.emptySince, ready, replicas, nowMs);
    if (this.emptySince.size === 0) return;
    const plan = planScaleDown({
      pool: this.settings.pool, nodes: ready, replicas, booting, emptySince: this.emptySince, nowMs, delayMs: this.settings.scaleDownDelaySeconds * 1000,
    });
    for (const name of plan.remove) {
      await this.revoke(name);
      await this.provider.delete(name);
      await this.store.delete('Node', 'default', name).catch(() => undefined);
      this.emptySince.delete(name);
    }
    await this.record(plan.events, []);
  }

  /** Scale-up Events go on the nodes added (or on the pool's name when none was); scale-down ones on the node. */
  private async record(events: NodeEvent[], added: string[]): Promise<void> {
    for (const event of events) {
      const targets = event.node ? [event.node] : added.length > 0 ? added : [`pool-${this.settings.pool.name}`];
      for (const name of targets) await this.events.record({ kind: 'Node', namespace: 'default', name }, event.reason === 'NodeScaleDown' || event.reason === 'NodeScaleUp' ? 'Normal' : 'Warning', event.reason, event.message);
    }
  }
}
