import { FilterPlugin, serviceKey } from '../types';
import { FITS } from './node-status.plugin';

/** A service may hold at most its fair share plus one replica on any node by default. */
export const DEFAULT_MAX_SKEW = 1;

/**
 * How many replicas of a service one node may hold after this placement: the service's fair share
 * over the nodes able to take it (ready, not cordoned, matching its selector) plus the max skew.
 *   cap = floor(serviceReplicas / eligibleNodes) + maxSkew
 * Kubernetes measures skew from the least-loaded domain; in a bin-packing cluster the least-loaded
 * node is an empty one waiting to be handed back, and measuring from it would forbid packing a large
 * service at all. The fair share keeps the promise users care about (losing one node loses at most
 * about 1/eligibleNodes of the service plus maxSkew replicas) and is never stricter than an even spread.
 */
export function spreadCap(serviceReplicas: number, eligibleNodes: number, maxSkew: number): number {
  return Math.floor(serviceReplicas / Math.max(1, eligibleNodes)) + maxSkew;
}

export const serviceSpread: FilterPlugin = {
  name: 'ServiceSpread',
  scope: 'node',
  filter: (replica, node, context) => {
    const maxSkew = replica.maxSkew ?? DEFAULT_MAX_SKEW;
    const here = node.replicasOfService?.[serviceKey(replica)] ?? 0;
    if (here + 1 <= spreadCap(context.serviceReplicas, context.eligibleNodes, maxSkew)) return FITS;
    return { fits: false, reason: `service spread (max skew ${maxSkew})` };
  },
};
