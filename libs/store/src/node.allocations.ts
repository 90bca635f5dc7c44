/**
 * Per-node allocation records: `/tide/v1/allocations/<node>`, written by every binding transaction.
 *
 * The record is the node's binding sequence. A binding transaction compares the mod revision of
 * the record of every node it binds to (the revision in the scheduler's snapshot) and rewrites it
 * in the same transaction as the Replicas it binds. So when the transaction succeeds, no binding to
 * those nodes was committed since the snapshot: every replica already bound there was in the
 * snapshot the placement was computed from, and the requests it checked against allocatable are
 * all there is. Two schedulers deciding from the same snapshot both compare the same revision; the
 * first to commit changes it and the second fails and places again from a fresh view. The record's
 * content (what the committing scheduler counted) is informative; its revision is the guard.
 */
import { Replica } from '@tide/api';
import { ROOT, objectKey } from './keys';

export const ALLOCATION_PREFIX = `${ROOT}allocations/`;

export interface NodeAllocation {
  /** Requests on the node as the committing scheduler counted them, its new bindings included. */
  requested: { cpu: number; memory: number };
  /** How many binding transactions touched the node. */
  sequence: number;
  /** The key's mod revision (not stored; 0 when the node never had a binding). */
  revision: number;
}

export function allocationKey(node: string): string {
  return `${ALLOCATION_PREFIX}${node}`;
}

/** One node's share of a binding transaction. */
export interface NodeBindings {
  node: string;
  /** The record's revision in the snapshot the placement was computed from (0: no record yet). */
  expectedRevision: number;
  /** Requests on the node after these bindings, as the scheduler counts them. */
  requested: { cpu: number; memory: number };
  sequence: number;
  /**
   * The bound Replicas, each carrying the resourceVersion it was read at; one without a
   * resourceVersion is created bound by the transaction (its key compared absent).
   */
  replicas: Replica[];
}

/** Every compare and put of a binding transaction: one per node record, one per replica. */
export function bindingOperationCount(groups: readonly NodeBindings[]): number {
  return groups.reduce((sum, group) => sum + 1 + group.replicas.length, 0);
}

export function replicaKeyOf(replica: Replica): string {
  return objectKey('Replica', replica.metadata.namespace, replica.metadata.name);
}
