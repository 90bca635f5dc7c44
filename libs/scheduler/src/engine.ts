/**
 * The batch engine: places every pending replica from one snapshot, larger requests first, updating
 * its copy of the nodes after each binding so a batch never oversubscribes a node. Stages:
 * 1. order the batch larger requests first, CPU- and memory-leaning ones interleaved (batch.order.ts);
 * 2. per replica, the placer picks the best node (indexed, or the reference scan);
 * 3. a binding is committed to the working copy, and the placer's index follows it;
 * 4. a replica no node takes gets every node's reason from the reference filters.
 */
import { largestFirstBalanced } from './batch.order';
import { ClusterState, NodeHolding } from './cluster.state';
import { IndexedPlacer } from './indexed.placer';
import { classKey } from './node.classes';
import { DEFAULT_PROFILE, Plugins, SchedulerProfile, buildPlugins } from './registry';
import { Placer, ScanPlacer, firstRejection, replicaContext } from './scan.placer';
import { Binding, NodeInfo, PendingReplica, Resources, ScheduleResult, Unschedulable } from './types';

export interface SchedulerOptions {
  profile?: SchedulerProfile;
  /** 'indexed' (default when every score plugin declares a scope) or 'scan', the reference. */
  placer?: 'indexed' | 'scan';
}

/** Whether the indexed placer can bound every score of the profile (see indexed.placer.ts). */
export function indexable(plugins: Plugins): boolean {
  return plugins.scores.every(({ plugin, weight }) => plugin.scope !== undefined && weight >= 0);
}

/**
 * A scheduler over one snapshot that keeps its working copy and index between batches: what the
 * control plane's scheduler cache does between cycles. Bindings it returns are already counted;
 * `update` takes in what changed elsewhere (bindings by others, replicas that ended) node by node;
 * a node added, removed or changed in its class fields needs a new Scheduler.
 */
export class Scheduler {
  private readonly state: ClusterState;
  private readonly plugins: Plugins;
  private readonly placer: Placer;
  private readonly largest: Resources;
  private readonly indexOf = new Map<string, number>();
  private explained: { key: string; version: number; reasons: Record<string, string> } | undefined;

  constructor(nodes: readonly NodeInfo[], options: SchedulerOptions = {}) {
    this.plugins = buildPlugins(options.profile ?? DEFAULT_PROFILE);
    this.state = new ClusterState(nodes);
    nodes.forEach((node, index) => this.indexOf.set(node.name, index));
    const scan = options.placer === 'scan' || !indexable(this.plugins);
    this.placer = scan ? new ScanPlacer(this.state, this.plugins) : new IndexedPlacer(this.state, this.plugins);
    this.largest = largestNode(nodes);
  }

  schedule(pending: readonly PendingReplica[]): ScheduleResult {
    const bindings: Binding[] = [];
    const unschedulable: Unschedulable[] = [];
    for (const replica of largestFirstBalanced(pending, this.largest)) {
      const index = this.placer.place(replica);
      if (index >= 0) {
        this.state.commit(index, replica);
        this.placer.bound(index);
        bindings.push({ replica, node: this.state.nodes[index].name });
      } else {
        const reasons = this.reasons(replica);
        unschedulable.push({ replica, summary: summarize(this.state.nodes.length, reasons), reasons });
      }
    }
    return { bindings, unschedulable };
  }

  /**
   * Takes in a node's current holding (requested, replicas per service, host ports). Returns false,
   * changing nothing, when the node is unknown or its class fields (labels, allocatable, images,
   * ready, cordoned) differ: the caller builds a new Scheduler then.
   */
  update(node: NodeInfo): boolean {
    const index = this.indexOf.get(node.name);
    if (index === undefined || classKey(this.state.nodes[index]) !== classKey(node)) return false;
    if (sameHolding(this.state.nodes[index], node)) return true;
    this.state.replaceHolding(index, node);
    this.placer.changed(index);
    return true;
  }

  /** The scheduler's current view of a node (its working copy: bindings of this scheduler included). */
  node(name: string): Readonly<NodeInfo> | undefined {
    const index = this.indexOf.get(name);
    return index === undefined ? undefined : this.state.nodes[index];
  }

  /**
   * Every node's reason, from the reference filters. Identical replicas come one after another (the
   * batch is sorted by size) and fail alike until a binding changes the state, so the last answer is
   * reused while the state's version has not moved.
   */
  private reasons(replica: PendingReplica): Record<string, string> {
    const key = JSON.stringify([replica.namespace, replica.service, replica.cpu, replica.memory,
      replica.nodeSelector ?? null, replica.hostPorts ?? null, replica.maxSkew ?? null]);
    if (this.explained?.key === key && this.explained.version === this.state.version) return this.explained.reasons;
    const context = replicaContext(replica, this.state, this.plugins);
    const reasons: Record<string, string> = {};
    for (const node of this.state.nodes) {
      reasons[node.name] = firstRejection(replica, node, this.plugins.filters, context) ?? 'no reason (a scoring error)';
    }
    this.explained = { key, version: this.state.version, reasons };
    return reasons;
  }
}

/** Places a whole batch from one snapshot; the snapshot's objects are left untouched. */
export function scheduleBatch(nodes: readonly NodeInfo[], pending: readonly PendingReplica[], options: SchedulerOptions = {}): ScheduleResult {
  return new Scheduler(nodes, options).schedule(pending);
}

function sameHolding(a: NodeHolding, b: NodeHolding): boolean {
  if (a.requested.cpu !== b.requested.cpu || a.requested.memory !== b.requested.memory) return false;
  const ports = (n: NodeHolding) => [...(n.hostPorts ?? [])].sort((x, y) => x - y).join(',');
  const services = (n: NodeHolding) => Object.entries(n.replicasOfService ?? {}).filter(([, count]) => count > 0).sort().join(';');
  return ports(a) === ports(b) && services(a) === services(b);
}

/** The largest allocatable CPU and memory: the scale requests are compared on. */
function largestNode(nodes: readonly NodeInfo[]): Resources {
  let cpu = 1;
  let memory = 1;
  for (const node of nodes) {
    cpu = Math.max(cpu, node.allocatable.cpu);
    memory = Math.max(memory, node.allocatable.memory);
  }
  return { cpu, memory };
}

/** "0/5 nodes available: 3 insufficient memory, 2 cordoned": most frequent first, ties in node order. */
export function summarize(nodeCount: number, reasons: Record<string, string>): string {
  const counts = new Map<string, number>();
  for (const reason of Object.values(reasons)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
  return `0/${nodeCount} nodes available${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
