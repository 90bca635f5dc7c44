import { NodeInfo, PendingReplica, Resources, ScorePlugin } from '../types';

/**
 * Best fit on CPU and memory together: the fuller the node after placing the replica, the better,
 * with the lagging resource weighing three times the leading one. A node full on memory but idle on
 * CPU strands its CPU; weighing the lower fraction more steers each replica to the node it balances.
 *   u = (requested + request) / allocatable, per resource, after placement
 *   score = 100 × (u_cpu + u_mem) / 2 − 25 × |u_cpu − u_mem|  (= 75 × min(u) + 25 × max(u))
 * Nondecreasing in `requested`, which is what lets the indexed engine bound it over a group of nodes;
 * it is computed in the min/max form because that form stays monotone under floating-point rounding.
 */
export function bestFitScore(allocatable: Resources, requestedAfter: Resources): number {
  const cpu = allocatable.cpu > 0 ? requestedAfter.cpu / allocatable.cpu : 1;
  const memory = allocatable.memory > 0 ? requestedAfter.memory / allocatable.memory : 1;
  return 75 * Math.min(cpu, memory) + 25 * Math.max(cpu, memory);
}

export const bestFit: ScorePlugin = {
  name: 'BestFit',
  scope: 'utilization',
  score: (replica: PendingReplica, node: NodeInfo) =>
    bestFitScore(node.allocatable, {
      cpu: node.requested.cpu + replica.cpu,
      memory: node.requested.memory + replica.memory,
    }),
};

/** 100 when the node already has the replica's image (no pull before the start), else 0. */
export function imageLocalityScore(image: string | undefined, images: ReadonlySet<string> | undefined): number {
  return image !== undefined && images?.has(image) ? 100 : 0;
}

export const imageLocality: ScorePlugin = {
  name: 'ImageLocality',
  scope: 'class',
  score: (replica, node) => imageLocalityScore(replica.image, node.images),
};
