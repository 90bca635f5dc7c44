/**
 * Node-aware scale-in (`tide` policy), pure. The down window keeps replicas for a return of the load;
 * while they share nodes the load needs anyway that costs nothing, but a node kept only for them
 * costs a whole node. So the replicas that alone keep a node are held for the shorter node-release
 * window (policy.ts `nodeReleaseMs`) instead of the whole down window: once the load has stayed below
 * them that long, the count falls to where a node empties, and the node autoscaler hands it back.
 *
 * Which replicas a scale-in takes follows the service controller's deletion order (libs/control
 * service.plan.ts): unplaced ones first, then those on the node holding the fewest of the service's
 * replicas. Emptying a node frees it only if nothing else holds it and a node autoscaler hands it back.
 */

/** One node that holds replicas of the service. */
export interface NodeShare {
  replicas: number;
  /**
   * The node is not handed back when the service leaves it: something else holds resources there, or
   * no node autoscaler would remove it (not in its pool, or the pool at its minimum).
   */
  stays: boolean;
}

/**
 * The highest count between `floor` and `current` at which a scale-in from `current` frees as many
 * nodes as scaling in to `floor` would; `current` when scaling in to `floor` frees none.
 * `nodes` are the nodes holding the service's placed replicas; the rest of `current` is unplaced.
 */
export function nodeReleaseCount(nodes: readonly NodeShare[], current: number, floor: number): number {
  const placed = nodes.reduce((sum, n) => sum + n.replicas, 0);
  const budget = current - floor;
  let removed = Math.max(0, current - placed);
  let freedAt: number | undefined;
  for (const node of [...nodes].sort((a, b) => a.replicas - b.replicas)) {
    if (removed + node.replicas > budget) break;
    removed += node.replicas;
    if (!node.stays) freedAt = removed;
  }
  return freedAt === undefined ? current : current - freedAt;
}
