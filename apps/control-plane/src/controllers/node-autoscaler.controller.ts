/**
 * The node autoscaler's loop (leader only): libs/control's pure plans acted on through a
 * NodeProvider. Each pass reads the cache:
 * - replicas the scheduler could not place (`status.unschedulable`) → `planScaleUp` (the
 *   scheduler's own what-if over the registered nodes, the booting ones and new template nodes)
 *   → the provider makes that many nodes; nodes still booting count as coming, so the next passes
 *   add nothing for the same replicas;
 * - the pool's nodes left empty (by consolidation or a scale-in) for the delay → `planScaleDown` →
 *   the node's certificates are revoked, the provider stops it, and the Node is removed.
 * - ahead of the peak: the replicas each autoscaled service will want within `leadSeconds` (a
 *   scheduled floor about to fire; in predictive mode its forecast over the lead) beyond those it has
 *   are expected replicas: the same what-if boots the nodes they need, and the empty nodes they
 *   would take are not handed back meanwhile (libs/control node.prescale.plan.ts).
 * Every decision is an Event with its reason (NodeScaleUp, NodeScaleUpLimited, NoNodeShapeFits,
 * NodeScaleDown). Only nodes the provider made are ever removed.
 */
import { Node, Replica } from '@tide/api';
import { Service } from '@tide/api';
import {
  NodeEvent, NodePool, NodeProvider, emptyNodesExpected, expectedReplicas, localVolumeHolders, nodeInfos, pendingBatch, planScaleDown, planScaleUp, trackEmpty, wantedAhead,
} from '@tide/control';
import { PendingReplica } from '@tide/scheduler';
import { ClusterCache, ObjectStore } from '@tide/store';
import { EventRecorder } from './events.recorder';

export interface NodeAutoscalerSettings {
  pool: NodePool;
  /** How long a node of the pool must stay empty before it is handed back. */
  scaleDownDelaySeconds: number;
  /** How far ahead nodes are made for replicas expected (a node's boot and a replica's start). */
  leadSeconds: number;
}

/** Replicas a service will want within the lead (predictive mode): the autoscaler controller's forecast. */
export type ForecastReplicas = (service: Service, leadMs: number) => number | undefined;

interface Expected {
  replicas: PendingReplica[];
  why: string;
}

export class NodeAutoscalerController {
  private emptySince = new Map<string, number>();
  /** The scale-up decision already taken for this set of pending replicas (no repeated Event each pass). */
  private lastPlan = '';
  /** The pool's nodes as of the last pass (made by the provider, booting ones included). */
  private poolNames = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly cache: ClusterCache,
    private readonly provider: NodeProvider,
    private readonly settings: NodeAutoscalerSettings,
    /** Revokes a node's certificates before it goes (its agent cannot come back as that node). */
    private readonly revoke: (node: string) => Promise<unknown>,
    private readonly forecast: ForecastReplicas = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async sync(): Promise<void> {
    await this.cache.fresh();
    const { pool } = this.settings;
    const made = await this.provider.list(pool.name);
    const names = new Set(made.map((n) => n.name));
    this.poolNames = names;
    const nodes = this.cache.list('Node');
    const replicas = this.cache.list('Replica');
    const poolNodes = nodes.filter((n) => names.has(n.metadata.name));
    const booting = made.filter((m) => !poolNodes.some((n) => n.metadata.name === m.name && n.status?.ready)).length;
    const pending = replicas.filter((r) => !r.spec.nodeName && !r.metadata.deletionTimestamp && r.status?.unschedulable);
    const expected = this.expected(replicas);
    await this.scaleUp(nodes, replicas, pending, expected, made.length, booting);
    // No node goes back while replicas wait for room: a node that has just joined is empty until
    // the scheduler's next cycle places them there.
    if (pending.length === 0) await this.scaleDown(poolNodes.filter((n) => n.status?.ready), replicas, booting, expected);
    else this.emptySince.clear();
  }

  /**
   * Whether the node would be handed back once empty (the autoscaler's node-aware scale-in asks): it
   * is the pool's and the pool is above its minimum. As of the last pass; false before the first.
   */
  handsBack(node: string): boolean {
    return this.poolNames.has(node) && this.poolNames.size > this.settings.pool.minNodes;
  }

  /** Replicas the autoscaled services will want within the lead beyond those they have. */
  private expected(replicas: Replica[]): Expected {
    const leadMs = this.settings.leadSeconds * 1000;
    const out: Expected = { replicas: [], why: '' };
    const reasons = new Set<string>();
    const services = this.cache.list('Service').filter((s) => s.spec.autoscale);
    if (services.length === 0) return out;
    // One pass over the replicas, not one per service.
    const live = new Map<string, number>();
    for (const r of replicas) {
      if (r.metadata.deletionTimestamp) continue;
      const key = `${r.metadata.namespace}/${r.spec.service}`;
      live.set(key, (live.get(key) ?? 0) + 1);
    }
    for (const service of services) {
      const have = live.get(`${service.metadata.namespace}/${service.metadata.name}`) ?? 0;
      const wanted = wantedAhead(service, this.now(), leadMs, this.forecast(service, leadMs));
      if (wanted.replicas <= have || !wanted.why) continue;
      out.replicas.push(...expectedReplicas(service, wanted.replicas - have));
      reasons.add(`${service.metadata.name}: ${wanted.why}`);
    }
    out.why = [...reasons].join(', ');
    return out;
  }

  private async scaleUp(nodes: Node[], replicas: Replica[], pending: Replica[], expected: Expected, poolSize: number, booting: number): Promise<void> {
    if (pending.length === 0 && expected.replicas.length === 0) return void (this.lastPlan = '');
    const { pool } = this.settings;
    const plan = planScaleUp({
      // A replica waiting for the node holding its local volume is not helped by a new node.
      pool, nodes: nodeInfos(nodes, replicas), poolSize, booting, pending: pendingBatch(pending, () => localVolumeHolders(nodes, replicas)),
      ...(expected.replicas.length > 0 ? { expected } : {}),
    });
    const key = `${pending.map((r) => r.metadata.name).sort().join(',')} ${expected.replicas.length} ${plan.add} ${booting}`;
    if (plan.add === 0 && key === this.lastPlan) return;
    this.lastPlan = key;
    const added: string[] = [];
    for (let i = 0; i < plan.add; i++) added.push((await this.provider.create(pool)).name);
    await this.record(plan.events, added);
  }

  private async scaleDown(ready: Node[], replicas: Replica[], booting: number, expected: Expected): Promise<void> {
    const nowMs = this.now();
    this.emptySince = trackEmpty(this.emptySince, ready, replicas, nowMs);
    if (this.emptySince.size === 0) return;
    const keep = emptyNodesExpected(nodeInfos(ready, replicas), expected.replicas);
    const plan = planScaleDown({
      pool: this.settings.pool, nodes: ready, replicas, booting, emptySince: this.emptySince, nowMs, delayMs: this.settings.scaleDownDelaySeconds * 1000, keep,
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
