/**
 * The reference placer: every filter on every node, every score on every feasible node, the highest
 * total wins and ties go to the earlier node. This is the scheduler's meaning; the indexed placer
 * must choose exactly the node this one chooses (engine.equivalence.spec.ts checks it).
 */
import { ClusterState } from './cluster.state';
import { Plugins } from './registry';
import { FilterPlugin, NodeInfo, PendingReplica, ReplicaContext } from './types';

export interface Placer {
  /** Index of the chosen node, or -1 when none passes every filter. */
  place(replica: PendingReplica): number;
  /** Called after the state committed a binding to node `index`. */
  bound(index: number): void;
  /** Called after the state replaced what node `index` holds (ClusterState.replaceHolding). */
  changed(index: number): void;
}

export function firstRejection(
  replica: PendingReplica, node: NodeInfo, filters: readonly FilterPlugin[], context: ReplicaContext,
): string | undefined {
  for (const filter of filters) {
    const status = filter.filter(replica, node, context);
    if (!status.fits) return status.reason;
  }
  return undefined;
}

export function totalScore(replica: PendingReplica, node: NodeInfo, plugins: Plugins): number {
  let score = 0;
  for (const { plugin, weight } of plugins.scores) score += weight * plugin.score(replica, node);
  return score;
}

/** What the filters may know beyond one node (see ReplicaContext), counted the plain way. */
export function replicaContext(replica: PendingReplica, state: ClusterState, plugins: Plugins): ReplicaContext {
  const classFilters = plugins.filters.filter((f) => f.scope === 'class');
  const partial = { eligibleNodes: 0, serviceReplicas: 0 };
  let eligibleNodes = 0;
  for (const node of state.nodes) {
    if (firstRejection(replica, node, classFilters, partial) === undefined) eligibleNodes++;
  }
  return { eligibleNodes, serviceReplicas: state.serviceReplicas(replica) };
}

export class ScanPlacer implements Placer {
  constructor(private readonly state: ClusterState, private readonly plugins: Plugins) {}

  place(replica: PendingReplica): number {
    const context = replicaContext(replica, this.state, this.plugins);
    let best = -1;
    let bestScore = -Infinity;
    this.state.nodes.forEach((node, index) => {
      if (firstRejection(replica, node, this.plugins.filters, context) !== undefined) return;
      const score = totalScore(replica, node, this.plugins);
      if (score > bestScore) {
        bestScore = score;
        best = index;
      }
    });
    return best;
  }

  bound(): void {
    // Nothing cached: the next placement reads the state afresh.
  }

  changed(): void {
    // Nothing cached either.
  }
}
