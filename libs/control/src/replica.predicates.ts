/** Questions every loop asks of a replica, answered from the Replica object alone. */
import { Replica } from '@tide/api';

/** Marked for deletion: its agent is stopping it, and no plan counts it any more. */
export function isTerminating(replica: Replica): boolean {
  return replica.metadata.deletionTimestamp !== undefined;
}

/** A replica lost with its node is replaced; other terminal replicas stay (their restart policy said so). */
export function isLost(replica: Replica): boolean {
  return replica.status?.phase === 'Failed' && replica.status.lastExit?.reason === 'NodeLost';
}

/**
 * Bound to a node and not finished: what the node's allocatable must cover. A Failed replica holds
 * nothing, although its agent may still be retrying a failed start.
 */
export function holdsResources(replica: Replica): boolean {
  const phase = replica.status?.phase;
  return replica.spec.nodeName !== undefined && phase !== 'Succeeded' && phase !== 'Failed';
}
