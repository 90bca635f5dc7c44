/**
 * What the drain loop does next, as pure functions of the Nodes and Replicas: which replicas of a
 * node being emptied start their move now, and which replacements to withdraw because their node is
 * no longer being emptied. The loop creates and deletes what these name.
 */
import { DrainItem, DrainProgress, Node, NodeDrain, Replica } from '@tide/api';
import { isTerminating } from './replica.predicates';

/**
 * Moves started and not yet done, per node being emptied. A drain asks for the node back, so many
 * may go at once; consolidation is housekeeping and keeps the churn small.
 */
export const MOVES_IN_FLIGHT: Record<NodeDrain['reason'], number> = { Drain: 8, Consolidation: 2 };

/** The replicas whose move starts now: those without a replacement, up to the room left in flight. */
export function movesToStart(progress: DrainProgress, reason: NodeDrain['reason']): DrainItem[] {
  const inFlight = progress.remaining.filter((item) => item.replacement && !item.replacement.ready).length;
  return progress.remaining.filter((item) => !item.replacement && !item.surge).slice(0, Math.max(0, MOVES_IN_FLIGHT[reason] - inFlight));
}

/**
 * Replacements with no node yet, for a move off a node that is no longer being emptied (the drain
 * was cancelled, the node uncordoned, consolidation gave up): withdrawn. Moves already placed go on:
 * their replacement is starting and the old replica stops once it is ready.
 */
export function cancelledMoves(nodes: readonly Node[], replicas: readonly Replica[]): Replica[] {
  const draining = new Set(nodes.filter((n) => n.spec.drain).map((n) => n.metadata.name));
  return replicas.filter((r) => {
    const from = r.spec.replaces?.fromNode;
    return from !== undefined && !draining.has(from) && !r.spec.nodeName && !isTerminating(r);
  });
}
