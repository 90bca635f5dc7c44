/**
 * The baseline of the `day` benchmark: what users run today, with its defaults, on the same
 * modelled cluster and replicas as Tide:
 * - a Kubernetes HPA: libs/autoscaler's `hpa-default` policy (15 s sync, no panic, the HPA's default
 *   behavior) on the same requests-per-second target;
 * - a ReplicaSet: new pods for a scale-up; for a scale-down the pods its controller deletes first
 *   (`ActivePodsWithRanks`): unscheduled, then not ready, then those on the node holding the most
 *   pods of the set, then the most recently ready;
 * - kube-scheduler's default profile (LeastAllocated spreading, BalancedAllocation, PodTopologySpread's
 *   system defaults): e2e/src/bench/scheduler.kube.ts, one pod per cycle, unschedulable pods tried
 *   again whenever the cluster changed;
 * - the Cluster Autoscaler with its defaults (day.ca.ts).
 */
import { Replica, Service } from '@tide/api';
import { ResolvedPolicy, ServiceAutoscaler, resolvePolicy } from '@tide/autoscaler';
import { newReplica, nodeInfos, toPending } from '@tide/control';
import { PendingReplica } from '@tide/scheduler';
import { ClusterAutoscalerModel } from './day.ca';
import { SimCluster, replicasOf } from './day.cluster';
import { DayModel, webService } from './day.setup';
import { KubeProfile, kubePlacement } from './scheduler.kube';

const KUBE_DEFAULT: KubeProfile = { strategy: 'LeastAllocated', percentageOfNodesToScore: 0, defaultSpread: true };

export class BaselineContestant {
  readonly cluster: SimCluster;
  readonly events = new Map<string, number>();
  private readonly service: Service;
  private readonly policy: ResolvedPolicy;
  private readonly ca: ClusterAutoscalerModel;
  private scaler!: ServiceAutoscaler;
  private serial = 0;
  private seenSchedule = -1;

  constructor(private readonly model: DayModel, private readonly random: () => number) {
    this.cluster = new SimCluster(model);
    this.service = webService(model, 'hpa-default', model.minReplicas);
    this.policy = resolvePolicy(this.service.spec.autoscale!);
    this.ca = new ClusterAutoscalerModel({ template: model.node, minNodes: model.minNodes, maxNodes: model.maxNodes });
  }

  async start(nowMs: number, nodes: number, replicas: number): Promise<void> {
    this.cluster.advance(nowMs);
    for (let i = 0; i < nodes; i++) this.cluster.addNode(this.nodeName(), { pool: 'web' }, true);
    this.service.spec.replicas = replicas;
    this.replicaSet();
    this.schedule();
    const placed = this.cluster.replicaList().filter((r) => r.spec.nodeName);
    if (placed.length < replicas) throw new Error(`baseline: ${replicas - placed.length} starting pods found no room on ${nodes} nodes`);
    for (const r of placed) this.cluster.bind(r.metadata.name, r.spec.nodeName!, true);
    this.scaler = new ServiceAutoscaler(nowMs, replicas);
  }

  async tick(nowMs: number, demandRps: number): Promise<void> {
    const decision = this.scaler.observe(this.policy, { atMs: nowMs, requests: { replicas: this.cluster.readyCount(), perSecond: demandRps } }, this.service.spec.replicas);
    if (decision && decision.desired !== this.service.spec.replicas) {
      this.service.spec.replicas = decision.desired;
      this.count(decision.reason);
    }
    this.replicaSet();
    if (this.cluster.replicaList().some((r) => !r.spec.nodeName)) this.schedule();
    this.clusterAutoscaler(nowMs);
  }

  private count(reason: string): void {
    this.events.set(reason, (this.events.get(reason) ?? 0) + 1);
  }

  private nodeName(): string {
    return `web-${++this.serial}`;
  }

  private replicaSet(): void {
    const pods = replicasOf(this.cluster, this.service);
    const want = this.service.spec.replicas;
    for (let i = pods.length; i < want; i++) this.cluster.create(newReplica(this.service, this.random));
    if (pods.length <= want) return;
    const onNode = new Map<string, number>();
    for (const p of pods) if (p.spec.nodeName) onNode.set(p.spec.nodeName, (onNode.get(p.spec.nodeName) ?? 0) + 1);
    const rank = (p: Replica) => [
      p.spec.nodeName ? 1 : 0,
      p.status?.ready ? 1 : 0,
      -(onNode.get(p.spec.nodeName ?? '') ?? 0),
      -(this.cluster.readyAtMs(p.metadata.name) ?? 0),
    ];
    const order = [...pods].sort((a, b) => {
      const [x, y] = [rank(a), rank(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || x[3] - y[3];
    });
    for (const p of order.slice(0, pods.length - want)) this.cluster.terminate(p.metadata.name);
  }

  /** kube-scheduler: pending pods in creation order over the ready, schedulable nodes. */
  private schedule(): void {
    if (this.seenSchedule === this.cluster.version) return;
    const replicas = this.cluster.replicaList();
    const nodes = nodeInfos(this.cluster.nodeList(), replicas).filter((n) => n.ready && !n.cordoned);
    const pending = replicas.filter((r) => !r.spec.nodeName);
    const placement = kubePlacement(nodes, pending.map(toPending), KUBE_DEFAULT, this.random);
    pending.forEach((r, i) => {
      const j = placement.nodeOf[i];
      if (j >= 0) this.cluster.bind(r.metadata.name, nodes[j].name);
      else this.cluster.markUnschedulable(r.metadata.name, `0/${nodes.length} nodes are available: insufficient cpu or memory`);
    });
    this.seenSchedule = this.cluster.version;
  }

  private clusterAutoscaler(nowMs: number): void {
    if (!this.ca.due(nowMs)) return;
    const replicas = this.cluster.replicaList();
    const infos = nodeInfos(this.cluster.nodeList(), replicas);
    const podsOf = new Map<string, PendingReplica[]>();
    for (const r of replicas) if (r.spec.nodeName) podsOf.set(r.spec.nodeName, [...(podsOf.get(r.spec.nodeName) ?? []), toPending(r)]);
    const actions = this.ca.scan(nowMs, {
      nodes: infos.filter((n) => n.ready).map((info) => ({ info, pods: podsOf.get(info.name) ?? [] })),
      booting: infos.filter((n) => !n.ready).length,
      unschedulable: replicas.filter((r) => !r.spec.nodeName && r.status?.unschedulable).map(toPending),
    });
    for (let i = 0; i < actions.add; i++) this.cluster.addNode(this.nodeName(), { pool: 'web' });
    if (actions.add > 0) this.count('TriggeredScaleUp');
    for (const { node, evict } of actions.remove) {
      // Eviction: the pods go at once (the ReplicaSet replaces them on the next pass), then the node.
      for (const name of evict) this.cluster.terminate(name);
      this.cluster.removeNode(node);
      this.count(evict.length > 0 ? 'ScaleDownDrained' : 'ScaleDownEmpty');
    }
  }
}
