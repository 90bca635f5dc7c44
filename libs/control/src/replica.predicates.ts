/** Questions every loop asks of a replica, answered from the Replica object alone. */
import { Replica } from '@tide/api';

/** Marked for deletion: its agent is stopping it, and no plan counts it any more. */
export function isTerminating(replica: Replica): boolean {
  return replica.metadata.deletionTimestamp !== undefined;
}

/**
 * Failed for a reason of the node rather than of its own (lost with its node, or evicted by its
 * agent: an emptyDir over its sizeLimit): such replicas are replaced, as Kubernetes' controllers replace
 * evicted pods. Other terminal replicas stay (their restart policy said so).
 */
export const REPLACED_REASONS: readonly string[] = ['NodeLost', 'Evicted'];

/** Lost or evicted (REPLACED_REASONS): replaced by the service controller. */
export function isLost(replica: Replica): boolean {
  return replica.status?.phase === 'Failed' && REPLACED_REASONS.includes(replica.status.lastExit?.reason ?? '');
}

/**
 * Bound to a node and not finished: what the node's allocatable must cover. A Failed replica holds
 * nothing, although its agent may still be retrying a failed start.
 */
export function holdsResources(replica: Replica): boolean {
  const phase = replica.status?.phase;
  return replica.spec.nodeName !== undefined && phase !== 'Succeeded' && phase !== 'Failed';
}
