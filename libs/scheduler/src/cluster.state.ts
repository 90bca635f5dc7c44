/**
 * The engine's working copy of one snapshot: nodes as they will be after this cycle's bindings, and
 * the per-service counts the spread filter needs. The caller's NodeInfo objects are never mutated;
 * a node's maps are copied on its first binding only, so a cycle costs what it binds, not the cluster.
 */
import { NodeInfo, PendingReplica, serviceKey } from './types';

export class ClusterState {
  readonly nodes: NodeInfo[];
  /** Incremented on every binding: a cached answer computed at an earlier version may be stale. */
  version = 0;
  private readonly owned: boolean[];
  private readonly serviceCounts = new Map<string, number>();

  constructor(nodes: readonly NodeInfo[]) {
    this.nodes = nodes.map((node) => ({ ...node, requested: { ...node.requested } }));
    this.owned = new Array<boolean>(nodes.length).fill(false);
    for (const node of nodes) this.addServiceCounts(node.replicasOfService, 1);
  }

  serviceReplicas(replica: PendingReplica): number {
    return this.serviceCounts.get(serviceKey(replica)) ?? 0;
  }

  commit(index: number, replica: PendingReplica): void {
    const node = this.nodes[index];
    if (!this.owned[index]) {
      node.replicasOfService = { ...(node.replicasOfService ?? {}) };
      node.hostPorts = new Set(node.hostPorts ?? []);
      this.owned[index] = true;
    }
    node.requested.cpu += replica.cpu;
    node.requested.memory += replica.memory;
    const key = serviceKey(replica);
    node.replicasOfService![key] = (node.replicasOfService![key] ?? 0) + 1;
    for (const port of replica.hostPorts ?? []) (node.hostPorts as Set<number>).add(port);
    this.serviceCounts.set(key, (this.serviceCounts.get(key) ?? 0) + 1);
    this.version++;
  }

  /**
   * Replaces what node `index` holds (bindings made elsewhere, replicas that ended): the control
   * plane's cache feeding a long-lived state between cycles. Class fields are not changed here.
   */
  replaceHolding(index: number, holding: NodeHolding): void {
    const node = this.nodes[index];
    this.addServiceCounts(node.replicasOfService, -1);
    node.requested = { ...holding.requested };
    node.replicasOfService = { ...(holding.replicasOfService ?? {}) };
    node.hostPorts = new Set(holding.hostPorts ?? []);
    this.owned[index] = true;
    this.addServiceCounts(node.replicasOfService, 1);
    this.version++;
  }

  private addServiceCounts(counts: Record<string, number> | undefined, sign: 1 | -1): void {
    for (const key in counts ?? {}) this.serviceCounts.set(key, (this.serviceCounts.get(key) ?? 0) + sign * counts![key]);
  }
}

/** The fields of a NodeInfo that change as replicas come and go (everything else is the node's class). */
export type NodeHolding = Pick<NodeInfo, 'requested' | 'replicasOfService' | 'hostPorts'>;

/** A node nothing has been placed on: every such node of one class answers every plugin alike. */
export function isPristine(node: NodeInfo): boolean {
  if (node.requested.cpu !== 0 || node.requested.memory !== 0 || (node.hostPorts?.size ?? 0) > 0) return false;
  for (const key in node.replicasOfService ?? {}) if (node.replicasOfService![key] > 0) return false;
  return true;
}
