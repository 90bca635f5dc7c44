import { NodeInfo, PendingReplica, Resources, ScorePlugin, serviceKey } from '../types';

/**
 * Best fit on CPU and memory together: the fuller the node after placing the replica, the better,
 * minus a penalty for leaving CPU and memory unbalanced (a node full on memory but idle on CPU
 * strands its CPU). Both terms in 0..100.
 *   used fraction after placement u = (requested + request) / allocatable, per resource
 *   score = 100 × (u_cpu + u_mem) / 2 − 50 × |u_cpu − u_mem|
 */
export function bestFitScore(allocatable: Resources, requestedAfter: Resources): number {
  const cpu = allocatable.cpu > 0 ? requestedAfter.cpu / allocatable.cpu : 1;
  const memory = allocatable.memory > 0 ? requestedAfter.memory / allocatable.memory : 1;
  return Math.max(0, 100 * ((cpu + memory) / 2) - 50 * Math.abs(cpu - memory));
}

export const bestFit: ScorePlugin = {
  name: 'BestFit',
  score: (replica: PendingReplica, node: NodeInfo) =>
    bestFitScore(node.allocatable, {
      cpu: node.requested.cpu + replica.cpu,
      memory: node.requested.memory + replica.memory,
    }),
};

/** Fewer replicas of the same service on a node is better: 100 / (1 + count). */
export function spreadScore(replicasOfServiceOnNode: number): number {
  return 100 / (1 + replicasOfServiceOnNode);
}

export const serviceSpread: ScorePlugin = {
  name: 'ServiceSpread',
  score: (replica, node) => spreadScore(node.replicasOfService?.[serviceKey(replica)] ?? 0),
};
