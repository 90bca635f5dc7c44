/**
 * The dashboard's copy of the cluster: the watch stream's snapshot, kept current by its change
 * batches (libs/api dashboard.view.ts), with replicas indexed by node. Each update answers what it
 * touched, so the views redraw those node bins and rows only: on 500 nodes a batch that moves three
 * replicas redraws at most six bins.
 */
import type { DashboardChanges, DashboardPermissions, DashboardSnapshot, DashboardUsage, NodeUsageView, NodeView, ReplicaView, ServiceView } from '@tide/api';

export interface Touched {
  /** Every bin must be drawn again (a snapshot). */
  all: boolean;
  /** Nodes whose bin changed: the node itself, or a replica on it (or that left it). */
  nodes: Set<string>;
  services: boolean;
  /** Replicas without a node changed. */
  pending: boolean;
  /** Nodes whose used CPU or memory changed (only those numbers: the bin itself did not). */
  used: Set<string>;
}

export interface Packing {
  /** Nodes with at least one replica. */
  used: number;
  /**
   * The fewest nodes that could hold every replica's requests: the largest nodes first, as many as
   * it takes for CPU and for memory (a bound no scheduler can beat; it ignores fragmentation).
   */
  lowerBound: number;
}

const NO_PERMISSIONS: DashboardPermissions = { scale: false, rollback: false, cordon: false, drain: false };

const keyOf = (view: { namespace: string; name: string }) => `${view.namespace}/${view.name}`;

export class ClusterState {
  revision = 0;
  namespace = '*';
  subject = '';
  may: DashboardPermissions = NO_PERMISSIONS;
  readonly nodes = new Map<string, NodeView>();
  readonly services = new Map<string, ServiceView>();
  readonly replicas = new Map<string, ReplicaView>();
  /** What each node's replicas used, as its agent last reported (absent: not known). */
  readonly usage = new Map<string, NodeUsageView>();
  /** Node name → keys of the replicas bound to it; '' holds the pending ones. */
  private readonly byNode = new Map<string, Set<string>>();

  load(snapshot: DashboardSnapshot): Touched {
    this.revision = snapshot.revision;
    this.namespace = snapshot.namespace;
    this.subject = snapshot.subject;
    this.may = snapshot.may;
    this.nodes.clear();
    this.services.clear();
    this.replicas.clear();
    this.byNode.clear();
    for (const node of snapshot.nodes) this.nodes.set(node.name, node);
    for (const service of snapshot.services) this.services.set(keyOf(service), service);
    for (const replica of snapshot.replicas) this.putReplica(replica);
    return everything(this);
  }

  /** The usage stream's numbers; a node's bin draws them with its own. */
  applyUsage(usage: DashboardUsage): Touched {
    const touched: Touched = { all: false, nodes: new Set(), services: false, pending: false, used: new Set() };
    for (const node of usage.nodes) {
      this.usage.set(node.name, node);
      touched.used.add(node.name);
    }
    for (const name of usage.unknown) {
      this.usage.delete(name);
      touched.used.add(name);
    }
    return touched;
  }

  apply(changes: DashboardChanges): Touched {
    this.revision = changes.revision;
    const touched: Touched = { all: false, nodes: new Set(), services: false, pending: false, used: new Set() };
    for (const node of changes.nodes.upsert) {
      this.nodes.set(node.name, node);
      touched.nodes.add(node.name);
    }
    for (const name of changes.nodes.remove) {
      this.nodes.delete(name);
      touched.nodes.add(name);
    }
    for (const service of changes.services.upsert) this.services.set(keyOf(service), service);
    for (const key of changes.services.remove) this.services.delete(key);
    touched.services = changes.services.upsert.length + changes.services.remove.length > 0;
    const mark = (replica: ReplicaView | undefined) => {
      if (!replica) return;
      if (replica.node) touched.nodes.add(replica.node);
      else touched.pending = true;
    };
    for (const key of changes.replicas.remove) mark(this.removeReplica(key));
    for (const replica of changes.replicas.upsert) {
      mark(this.removeReplica(keyOf(replica)));
      this.putReplica(replica);
      mark(replica);
    }
    return touched;
  }

  /** The replicas bound to a node, by name. */
  replicasOn(node: string): ReplicaView[] {
    return this.indexed(node);
  }

  /** Replicas no node has taken yet. */
  pendingReplicas(): ReplicaView[] {
    return this.indexed('');
  }

  packing(): Packing {
    let used = 0;
    let cpu = 0;
    let memory = 0;
    for (const [node, keys] of this.byNode) if (node !== '' && keys.size > 0) used++;
    for (const replica of this.replicas.values()) {
      cpu += replica.cpu;
      memory += replica.memory;
    }
    const nodes = [...this.nodes.values()];
    return { used, lowerBound: Math.max(fewestHolding(nodes.map((n) => n.allocatable.cpu), cpu), fewestHolding(nodes.map((n) => n.allocatable.memory), memory)) };
  }

  private indexed(node: string): ReplicaView[] {
    const keys = [...(this.byNode.get(node) ?? [])].sort();
    return keys.map((key) => this.replicas.get(key)!);
  }

  private putReplica(replica: ReplicaView): void {
    const key = keyOf(replica);
    this.replicas.set(key, replica);
    const node = replica.node ?? '';
    let keys = this.byNode.get(node);
    if (!keys) this.byNode.set(node, (keys = new Set()));
    keys.add(key);
  }

  private removeReplica(key: string): ReplicaView | undefined {
    const replica = this.replicas.get(key);
    if (!replica) return undefined;
    this.replicas.delete(key);
    this.byNode.get(replica.node ?? '')?.delete(key);
    return replica;
  }
}

/** Every view drawn again: after a snapshot, or on opening a view. */
export function everything(state: ClusterState): Touched {
  const nodes = new Set(state.nodes.keys());
  return { all: true, nodes, services: true, pending: true, used: new Set(nodes) };
}

/** How many of the largest capacities it takes to reach `total` (all of them when they never do). */
export function fewestHolding(capacities: number[], total: number): number {
  if (total <= 0) return 0;
  const sorted = [...capacities].sort((a, b) => b - a);
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) {
    sum += sorted[i];
    if (sum >= total) return i + 1;
  }
  return sorted.length;
}
