/**
 * The modelled cluster of the `day` benchmark: Node and Replica API objects, each with the time it
 * becomes ready, advanced by an injected clock; what the real agents and cloud would do is reduced
 * to two delays (a node boots in `nodeBootS`, a bound replica is ready `replicaStartS` after it was
 * placed). Both policies run on their own instance of it, so only their decisions differ. It also
 * keeps the accounts: node-seconds (from the request for a node to its deletion: a booting node is
 * paid for), replica-seconds (bound replicas, starting ones included), requests dropped when the
 * demand of a second exceeds what the ready replicas serve, and a per-minute series for the plot.
 */
import { Node, Replica, Service } from '@tide/api';

export interface ClusterModel {
  /** Requests per second one ready replica serves; beyond that, requests are dropped. */
  capacityRps: number;
  replicaStartS: number;
  nodeBootS: number;
  node: { cpu: number; memory: number };
}

export interface MinutePoint {
  demandRps: number;
  /** Mean over the minute of what the ready replicas can serve. */
  capacityRps: number;
  /** Most nodes held during the minute (booting ones included). */
  nodes: number;
  replicas: number;
  dropped: number;
}

export interface Totals {
  node_hours: number;
  replica_hours: number;
  slo_violation_minutes: number;
  dropped_requests: number;
  peak_nodes: number;
}

interface SimNode {
  node: Node;
  readyAtMs: number;
}

export class SimCluster {
  readonly nodes = new Map<string, SimNode>();
  readonly replicas = new Map<string, Replica>();
  private readonly readyAt = new Map<string, number>();
  /** Bumped on every change a loop could react to: a loop whose inputs did not change may skip its pass. */
  version = 0;
  nowMs = 0;
  private nodeSeconds = 0;
  private replicaSeconds = 0;
  private dropped = 0;
  private violationMinutes = 0;
  private peakNodes = 0;
  private minute = { demand: 0, capacity: 0, nodes: 0, replicas: 0, dropped: 0, seconds: 0 };
  readonly series: MinutePoint[] = [];

  constructor(readonly model: ClusterModel) {}

  addNode(name: string, labels: Record<string, string>, ready = false): void {
    const { cpu, memory } = this.model.node;
    const node: Node = {
      apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default', labels, creationTimestamp: iso(this.nowMs) },
      spec: { address: '198.18.0.1' },
      status: { ready, capacity: { cpu, memory }, allocatable: { cpu, memory }, images: [] },
    };
    this.nodes.set(name, { node, readyAtMs: ready ? this.nowMs : this.nowMs + this.model.nodeBootS * 1000 });
    this.version++;
  }

  removeNode(name: string): void {
    if (!this.nodes.delete(name)) throw new Error(`no node ${name} in the modelled cluster`);
    if ([...this.replicas.values()].some((r) => r.spec.nodeName === name)) throw new Error(`node ${name} removed with replicas bound to it`);
    this.version++;
  }

  nodeList(): Node[] {
    return [...this.nodes.values()].map((n) => n.node);
  }

  replicaList(): Replica[] {
    return [...this.replicas.values()];
  }

  /** False when a live replica already has the name (the store would refuse it; the next pass tries again). */
  create(replica: Replica): boolean {
    if (this.replicas.has(replica.metadata.name)) return false;
    replica.metadata.creationTimestamp = iso(this.nowMs);
    replica.metadata.namespace ??= 'default';
    this.replicas.set(replica.metadata.name, replica);
    this.version++;
    return true;
  }

  /** Binds a replica; it is ready `replicaStartS` later (`warm`: at once, for the starting state). */
  bind(name: string, nodeName: string, warm = false): void {
    const replica = this.replicas.get(name)!;
    replica.spec.nodeName = nodeName;
    replica.status = { phase: warm ? 'Running' : 'Starting', ready: warm, restartCount: 0 };
    this.readyAt.set(name, warm ? this.nowMs : this.nowMs + this.model.replicaStartS * 1000);
    this.version++;
  }

  markUnschedulable(name: string, summary: string): void {
    const replica = this.replicas.get(name)!;
    if (replica.status?.unschedulable?.summary === summary) return;
    replica.status = { phase: 'Pending', ready: false, restartCount: 0, unschedulable: { summary, nodes: {} } };
  }

  /**
   * A terminated replica stops serving and frees its room at once: a web server drains its
   * connections within its grace period, which the model takes as instantaneous for both policies.
   */
  terminate(name: string): void {
    if (this.replicas.delete(name)) this.version++;
    this.readyAt.delete(name);
  }

  /** Nodes finish booting and replicas finish starting; true when something became ready. */
  advance(nowMs: number): boolean {
    this.nowMs = nowMs;
    let changed = false;
    for (const { node, readyAtMs } of this.nodes.values()) {
      if (!node.status!.ready && readyAtMs <= nowMs) [node.status!.ready, changed] = [true, true];
    }
    for (const [name, at] of this.readyAt) {
      const replica = this.replicas.get(name)!;
      if (replica.status!.ready || at > nowMs) continue;
      replica.status = { phase: 'Running', ready: true, restartCount: 0, startedAt: iso(nowMs), readyChangedAt: iso(nowMs) };
      changed = true;
    }
    if (changed) this.version++;
    return changed;
  }

  readyCount(): number {
    let ready = 0;
    for (const r of this.replicas.values()) if (r.status?.ready) ready++;
    return ready;
  }

  readyAtMs(name: string): number | undefined {
    return this.readyAt.get(name);
  }

  /** One second of traffic: what the ready replicas cannot serve is dropped. */
  account(demandRps: number): void {
    const ready = this.readyCount();
    const capacity = ready * this.model.capacityRps;
    const dropped = Math.max(0, demandRps - capacity);
    let bound = 0;
    for (const r of this.replicas.values()) if (r.spec.nodeName) bound++;
    this.nodeSeconds += this.nodes.size;
    this.replicaSeconds += bound;
    this.dropped += dropped;
    this.peakNodes = Math.max(this.peakNodes, this.nodes.size);
    const m = this.minute;
    m.demand += demandRps;
    m.capacity += capacity;
    m.nodes = Math.max(m.nodes, this.nodes.size);
    m.replicas = Math.max(m.replicas, bound);
    m.dropped += dropped;
    if (++m.seconds === 60) this.closeMinute();
  }

  private closeMinute(): void {
    const m = this.minute;
    if (m.dropped > 0) this.violationMinutes++;
    this.series.push({ demandRps: m.demand / 60, capacityRps: m.capacity / 60, nodes: m.nodes, replicas: m.replicas, dropped: m.dropped });
    this.minute = { demand: 0, capacity: 0, nodes: 0, replicas: 0, dropped: 0, seconds: 0 };
  }

  totals(): Totals {
    return {
      node_hours: round(this.nodeSeconds / 3600, 2),
      replica_hours: round(this.replicaSeconds / 3600, 2),
      slo_violation_minutes: this.violationMinutes,
      dropped_requests: Math.round(this.dropped),
      peak_nodes: this.peakNodes,
    };
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The replicas of one service, live ones only (a terminated replica is gone from the model at once). */
export function replicasOf(cluster: SimCluster, service: Service): Replica[] {
  return cluster.replicaList().filter((r) => r.spec.service === service.metadata.name);
}
