/**
 * Tide in the `day` benchmark: the control plane's loops, each reduced to the glue around the same
 * pure code the real loops call, on the modelled cluster with the injected clock:
 * - autoscaler: libs/autoscaler's ServiceAutoscaler (`policy: tide`) every second on the demand and
 *   where the replicas run (libs/control `nodeShares`, as the control plane's loop reads it);
 * - service controller: libs/control `planService` (creates, terminates, completes moves);
 * - scheduler: libs/scheduler `scheduleBatch` over libs/control's `nodeInfos`;
 * - drain and consolidation: libs/control `findConsolidation` every 2 s with the control plane's
 *   default 30 s delay, `drainProgress`, `movesToStart`, `replacementFor`, `consolidationCancelled`;
 * - node autoscaler: libs/control `planScaleUp` / `trackEmpty` / `planScaleDown` against a
 *   NodeProvider that adds booting nodes to the model.
 * A loop whose inputs did not change since its last pass (the model's version) skips the pass: the
 * pure functions would answer the same.
 */
import { Node, Service } from '@tide/api';
import { LoadHistory, ResolvedPolicy, ServiceAutoscaler, resolvePolicy } from '@tide/autoscaler';
import {
  NodeEvent, NodePool, NodeProvider, ProvidedNode, consolidationCancelled, drainProgress, emptyNodesExpected, expectedReplicas, findConsolidation,
  movesToStart, newReplica, nodeInfos, nodeShares, planScaleDown, planScaleUp, planService, replacementFor, toPending, trackEmpty, wantedAhead,
} from '@tide/control';
import { InMemoryNodeProvider } from '@tide/control/testing';
import { scheduleBatch } from '@tide/scheduler';
import { SimCluster, iso, replicasOf } from './day.cluster';
import { DayModel, nodePool, webService } from './day.setup';

export interface TideSettings {
  /** The control plane's `--consolidation-delay-seconds` (its default is 30; Tide's day runs 10). */
  consolidationDelayS: number;
  /**
   * How long a node stays empty before the node autoscaler hands it back (the control plane's
   * `--node-scale-down-delay-seconds`, default 60; the day runs 10: nodes expected within the lead
   * are kept anyway, so the delay only guards a node that empties for a moment. Over the trace's 39
   * windows with step demand, 5 to 30 s drop the same requests in the same minutes and node-hours
   * fall with the delay; 0 drops more. With linear demand 10 s loses 9 minutes of 148 to 30 s:
   * docs/BENCHMARKS.md, day, sixth round).
   */
  nodeScaleDownDelayS: number;
  /** `autoscale.targetRequestsPerSecond` of the Tide service (the users' HPA target is the model's `targetRps`). */
  targetRps: number;
  /** `autoscale.predictive: {}` (the node lead's forecast, the autoscaler's 60 s horizon). */
  predictive: boolean;
  /** `autoscale.behavior.scaleDown.stabilizationWindowSeconds` (the HPA's default is 300). */
  scaleDownWindowS: number;
  /** `placement.maxSkew` of the Tide service (the scheduler's default is 1). */
  maxSkew: number;
  /**
   * How far ahead the node autoscaler looks (scheduled floors; in predictive mode the forecast):
   * a node's boot and a replica's start, and a pass of the loops. Default: the model's boot + 30 s.
   */
  nodeLeadS?: number;
}

/**
 * What a Tide user runs the web tier with, and why each differs from the HPA user's settings:
 * replicas at 90% of what they serve (Tide adds a replica within about 2 s of a rise, and predictive
 * mode adds them ahead of the rises the service's history shows, where the HPA takes 15-30 s and a
 * requests-per-second pipeline minutes, so its users keep 30% spare); the HPA's 300 s scale-down
 * window (60 s saves 2% of node-hours and loses minutes to jumps after a dip); a spread of fair share + 3 per node (the skew
 * kube-scheduler's default topology spread allows per node); node scale-down and consolidation
 * delays of 10 s each.
 */
export const DEFAULT_TIDE: TideSettings = {
  consolidationDelayS: 10, nodeScaleDownDelayS: 10, targetRps: 90, predictive: true, scaleDownWindowS: 300, maxSkew: 3,
};

/** The Tide service's `spec.autoscale` fields beyond the model's (validated with the service). */
export function tideAutoscale(settings: TideSettings): Record<string, unknown> {
  return {
    targetRequestsPerSecond: settings.targetRps,
    behavior: { scaleDown: { stabilizationWindowSeconds: settings.scaleDownWindowS } },
    ...(settings.predictive ? { predictive: {} } : {}),
  };
}

const CONSOLIDATION_PERIOD_MS = 2000;
/** How often the node autoscaler looks ahead when nothing else changed (a forecast moves with the clock). */
const AHEAD_PERIOD_MS = 10_000;

/** A NodeProvider whose nodes join the modelled cluster and become Ready after the boot time. */
class ModelProvider implements NodeProvider {
  private readonly names = new InMemoryNodeProvider(() => this.cluster.nowMs);
  constructor(private readonly cluster: SimCluster) {}

  async create(pool: NodePool): Promise<ProvidedNode> {
    const made = await this.names.create(pool);
    this.cluster.addNode(made.name, pool.template.labels);
    return made;
  }

  async delete(name: string): Promise<void> {
    await this.names.delete(name);
    this.cluster.removeNode(name);
  }

  list(pool?: string): Promise<ProvidedNode[]> {
    return this.names.list(pool);
  }
}

export class TideContestant {
  readonly cluster: SimCluster;
  readonly events = new Map<string, number>();
  private readonly service: Service;
  private readonly policy: ResolvedPolicy;
  private readonly pool: NodePool;
  private readonly provider: ModelProvider;
  private scaler!: ServiceAutoscaler;
  private random: () => number;
  private seen = { plan: -1, schedule: -1, scaleUp: -1, consolidation: -1 };
  private consolidation: { node: string; since: number } | undefined;
  private lastConsolidationMs = -Infinity;
  private emptySince = new Map<string, number>();
  private lastAheadMs = -Infinity;

  constructor(private readonly model: DayModel, private readonly settings: TideSettings, seed: () => number) {
    this.cluster = new SimCluster(model);
    this.service = webService(model, 'tide', model.minReplicas, tideAutoscale(settings), { maxSkew: settings.maxSkew });
    this.policy = resolvePolicy(this.service.spec.autoscale!);
    this.pool = nodePool(model);
    this.provider = new ModelProvider(this.cluster);
    this.random = seed;
  }

  /**
   * The starting state: `nodes` ready nodes and `replicas` ready replicas placed by Tide's scheduler;
   * in predictive mode the autoscaler remembers `history` (requests per second by minute before the window).
   */
  async start(nowMs: number, nodes: number, replicas: number, history: Map<number, number> = new Map()): Promise<void> {
    this.cluster.advance(nowMs);
    for (let i = 0; i < nodes; i++) await this.provider.create(this.pool);
    for (const node of this.cluster.nodeList()) node.status!.ready = true;
    this.service.spec.replicas = replicas;
    for (let i = 0; i < replicas; i++) this.cluster.create(newReplica(this.service, this.random));
    const placed = this.schedule();
    for (const r of this.cluster.replicaList()) if (r.spec.nodeName) this.cluster.bind(r.metadata.name, r.spec.nodeName, true);
    if (placed < replicas) throw new Error(`tide: ${replicas - placed} starting replicas found no room on ${nodes} nodes`);
    const remembered = new LoadHistory();
    for (const [ms, rps] of history) remembered.observe(ms, rps / (this.policy.targets.requestsPerSecond ?? this.model.targetRps));
    this.scaler = new ServiceAutoscaler(nowMs, replicas, remembered);
  }

  async tick(nowMs: number, demandRps: number): Promise<void> {
    this.autoscale(nowMs, demandRps);
    this.serviceController();
    this.drainController();
    if (this.cluster.replicaList().some((r) => !r.spec.nodeName)) this.schedule();
    this.consolidate(nowMs);
    await this.nodeAutoscaler(nowMs);
  }

  private count(reason: string): void {
    this.events.set(reason, (this.events.get(reason) ?? 0) + 1);
  }

  private autoscale(nowMs: number, demandRps: number): void {
    const ready = this.cluster.readyCount();
    const replicas = this.cluster.replicaList();
    // As the node autoscaler answers: a node of the pool goes back once empty unless the pool is at its minimum.
    const release = { everyReplica: replicas, handsBack: () => this.cluster.nodes.size > this.model.minNodes };
    const reading = { atMs: nowMs, requests: { replicas: ready, perSecond: demandRps }, nodes: nodeShares(replicasOf(this.cluster, this.service), release) };
    const decision = this.scaler.observe(this.policy, reading, this.service.spec.replicas);
    if (!decision || decision.desired === this.service.spec.replicas) return;
    this.service.spec.replicas = decision.desired;
    this.count(decision.reason);
    this.cluster.version++;
  }

  private serviceController(): void {
    if (this.seen.plan === this.cluster.version) return;
    const plan = planService(this.service, replicasOf(this.cluster, this.service), this.random);
    for (const r of plan.terminate) this.cluster.terminate(r.metadata.name);
    for (const r of [...plan.create, ...plan.replace]) this.cluster.create(r);
    if (plan.completed.length > 0) this.count('Moved');
    this.seen.plan = this.cluster.version;
  }

  /** Places every unplaced replica it can; the rest carry the scheduler's reason. Returns how many were placed. */
  private schedule(): number {
    if (this.seen.schedule === this.cluster.version) return 0;
    const replicas = this.cluster.replicaList();
    const unplaced = replicas.filter((r) => !r.spec.nodeName);
    const result = scheduleBatch(nodeInfos(this.cluster.nodeList(), replicas), unplaced.map(toPending));
    for (const b of result.bindings) this.cluster.bind(b.replica.name, b.node);
    for (const u of result.unschedulable) this.cluster.markUnschedulable(u.replica.name, u.summary);
    this.seen.schedule = this.cluster.version;
    return result.bindings.length;
  }

  private drainController(): void {
    const replicas = this.cluster.replicaList();
    for (const node of this.cluster.nodeList()) {
      const drain = node.spec.drain;
      if (!drain) continue;
      const progress = drainProgress(node, replicas);
      if (progress.empty) {
        delete node.spec.drain;
        this.count('Consolidated');
        this.cluster.version++;
        continue;
      }
      for (const item of movesToStart(progress, drain.reason)) {
        const old = this.cluster.replicas.get(item.replica)!;
        if (this.cluster.create(replacementFor(this.service, old, drain.reason, node.metadata.name))) this.count('Moving');
      }
    }
  }

  /** The consolidation loop: every 2 s, a node must stay the candidate for the delay before it is marked. */
  private consolidate(nowMs: number): void {
    if (nowMs - this.lastConsolidationMs < CONSOLIDATION_PERIOD_MS) return;
    this.lastConsolidationMs = nowMs;
    const nodes = this.cluster.nodeList();
    const active = nodes.find((n) => n.spec.drain?.reason === 'Consolidation');
    if (active) return this.watchConsolidation(active);
    if (this.seen.consolidation === this.cluster.version && !this.consolidation) return;
    this.seen.consolidation = this.cluster.version;
    const found = findConsolidation(nodes, this.cluster.replicaList(), [this.service]);
    if (!found) return void (this.consolidation = undefined);
    if (this.consolidation?.node !== found.node) return void (this.consolidation = { node: found.node, since: nowMs });
    if (nowMs - this.consolidation.since < this.settings.consolidationDelayS * 1000) return;
    this.consolidation = undefined;
    this.cluster.nodes.get(found.node)!.node.spec.drain = { reason: 'Consolidation', startedAt: iso(nowMs) };
    this.count('Consolidating');
    this.cluster.version++;
  }

  private watchConsolidation(node: Node): void {
    if (!consolidationCancelled(true, this.cluster.replicaList())) return;
    delete node.spec.drain;
    this.count('ConsolidationCancelled');
    this.cluster.version++;
  }

  /**
   * Pending replicas get nodes; so do the replicas expected within a node's lead time (a scheduled
   * floor about to fire, the forecast's rise), which also keep the empty nodes they would take.
   */
  private async nodeAutoscaler(nowMs: number): Promise<void> {
    const made = await this.provider.list(this.pool.name);
    const nodes = this.cluster.nodeList();
    const booting = nodes.filter((n) => !n.status?.ready).length;
    const replicas = this.cluster.replicaList();
    const stuck = replicas.filter((r) => !r.spec.nodeName && r.status?.unschedulable);
    const ahead = this.expected(nowMs, replicas.length);
    const lookAhead = ahead.replicas.length > 0 && nowMs - this.lastAheadMs >= AHEAD_PERIOD_MS;
    if ((stuck.length > 0 || lookAhead) && (this.seen.scaleUp !== this.cluster.version || lookAhead)) {
      this.seen.scaleUp = this.cluster.version;
      if (lookAhead) this.lastAheadMs = nowMs;
      const plan = planScaleUp({
        pool: this.pool, nodes: nodeInfos(nodes, replicas), poolSize: made.length, booting, pending: stuck.map(toPending),
        ...(ahead.replicas.length > 0 ? { expected: ahead } : {}),
      });
      this.record(plan.events);
      for (let i = 0; i < plan.add; i++) await this.provider.create(this.pool);
    }
    this.emptySince = trackEmpty(this.emptySince, nodes, replicas, nowMs);
    if (this.emptySince.size === 0) return;
    const ready = nodes.filter((n) => n.status?.ready);
    const keep = emptyNodesExpected(nodeInfos(ready, replicas), ahead.replicas);
    const plan = planScaleDown({ pool: this.pool, nodes: ready, replicas, booting, emptySince: this.emptySince, nowMs, delayMs: this.settings.nodeScaleDownDelayS * 1000, keep });
    this.record(plan.events);
    for (const name of plan.remove) await this.provider.delete(name);
  }

  /** Replicas the service will want within the node lead time beyond those it has (node.prescale.plan.ts). */
  private expected(nowMs: number, live: number): { replicas: ReturnType<typeof expectedReplicas>; why: string } {
    const leadMs = (this.settings.nodeLeadS ?? this.model.nodeBootS + 30) * 1000;
    const wanted = wantedAhead(this.service, nowMs, leadMs, this.scaler.forecastReplicas(this.policy, nowMs, leadMs));
    return { replicas: expectedReplicas(this.service, wanted.replicas - live), why: wanted.why ?? '' };
  }

  private record(events: NodeEvent[]): void {
    for (const e of events) this.count(e.reason);
  }
}
