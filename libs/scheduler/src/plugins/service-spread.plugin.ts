import { FilterPlugin, ReplicaContext, serviceKey } from '../types';
import { FITS } from './node-status.plugin';

/** A service may hold at most its fair share plus one replica on any node by default. */
export const DEFAULT_MAX_SKEW = 1;

/** The fair share is taken over this many nodes (or every eligible node, when fewer). */
export const SPREAD_NODES = 10;

/**
 * How many replicas of a service one node may hold after this placement: the service's fair share
 * over ten nodes (every eligible node when there are fewer), plus the max skew.
 *   cap = floor(serviceReplicas / min(eligibleNodes, 10)) + maxSkew
 * So losing one node costs a service at most a tenth of its replicas plus maxSkew: 1 replica of a
 * 10-replica service, 2 of 20, 101 of 1,000 (with maxSkew 1).
 * Why not Kubernetes' skew (against the least-loaded node able to take it)? Over all eligible nodes
 * the least-loaded ones are the empty nodes waiting to be handed back, and a large service would be
 * forced across the whole cluster. Over the nodes in use it feeds back: a packed cluster's few nodes
 * with room reach the cap, a new node opens, the fair share drops, more nodes open (tried: a
 * 20,000-replica benchmark then used every node). Over the nodes that could take the replica it is
 * right but needs a pass over them per replica, which the indexed placer exists to avoid. A share
 * of a fixed number of nodes depends on nothing that packing changes.
 */
export function spreadCap(context: ReplicaContext, maxSkew: number): number {
  const nodes = Math.max(1, Math.min(context.eligibleNodes, SPREAD_NODES));
  return Math.floor(context.serviceReplicas / nodes) + maxSkew;
}

export const serviceSpread: FilterPlugin = {
  name: 'ServiceSpread',
  scope: 'node',
  filter: (replica, node, context) => {
    const maxSkew = replica.maxSkew ?? DEFAULT_MAX_SKEW;
    const here = node.replicasOfService?.[serviceKey(replica)] ?? 0;
    if (here + 1 <= spreadCap(context, maxSkew)) return FITS;
    return { fits: false, reason: `service spread (max skew ${maxSkew})` };
  },
};
