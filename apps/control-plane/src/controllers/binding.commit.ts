/**
 * Commits a cycle's bindings: grouped by node, packed into etcd transactions that each compare the
 * allocation record of every node they touch and the revision of every replica they bind
 * (libs/store node.allocations.ts says why that can never overcommit a node). Transactions of one
 * round run concurrently; a node with more bindings than fit one transaction is split, and its next
 * part compares the revision its previous part produced, in the next round.
 */
import { Replica } from '@tide/api';
import { NodeAllocation, NodeBindings, ObjectStore, StoredForm, TXN_BUDGET_BYTES, bindingOperationCount, packByBytes, storedForm } from '@tide/store';
import { inParallel } from '../parallel';

/** etcd refuses more than 128 compares or 128 puts per transaction (--max-txn-ops). */
export const MAX_TXN_OPS = 120;
/**
 * Transactions of a round in flight at once: enough for etcd to commit several together, few
 * enough that the service controller's creates are not queued behind a whole cycle's commits.
 */
const COMMITS_AT_ONCE = 8;

export interface BindingOutcome {
  committed: Replica[];
  /** Replicas of refused transactions: placed again from a fresh view. */
  refused: Replica[];
  /** Nodes touched by refused transactions: their view must be re-read. */
  refusedNodes: string[];
  /** The highest etcd revision answered: a view that new has seen every commit and refusal. */
  revision: number;
  transactions: number;
  /** Why transactions failed other than by a conflict (each refused as well). */
  errors: Error[];
  /** Each node's allocation record as this commit left it (revision and sequence of its last committed part). */
  committedNodes: Map<string, Pick<NodeAllocation, 'revision' | 'sequence'>>;
}

export interface NodeTotals {
  requested: { cpu: number; memory: number };
}

/** A node's allocation record in a transaction (its key and a small JSON value): generous. */
const ALLOCATION_RECORD_BYTES = 256;

/**
 * Splits each node's bindings into parts of at most MAX_TXN_OPS - 1 replicas and TXN_BUDGET_BYTES
 * (bytes counted: a service with a large template fills a transaction with a few replicas).
 */
function nodeParts(byNode: Map<string, Replica[]>, sizes: Map<Replica, number>): Map<string, Replica[][]> {
  const parts = new Map<string, Replica[][]>();
  for (const [node, replicas] of byNode) {
    parts.set(node, packByBytes(replicas, (r) => sizes.get(r)!, { items: MAX_TXN_OPS - 1, bytes: TXN_BUDGET_BYTES - ALLOCATION_RECORD_BYTES }));
  }
  return parts;
}

function groupBytes(group: NodeBindings, sizes: Map<Replica, number>): number {
  return group.replicas.reduce((sum, replica) => sum + sizes.get(replica)!, ALLOCATION_RECORD_BYTES);
}

/** Packs node groups into transactions of at most MAX_TXN_OPS compares (and as many puts) and TXN_BUDGET_BYTES. */
function pack(groups: NodeBindings[], sizes: Map<Replica, number>): NodeBindings[][] {
  const transactions: NodeBindings[][] = [];
  let current: NodeBindings[] = [];
  let bytes = 0;
  for (const group of groups) {
    const size = groupBytes(group, sizes);
    if (current.length > 0 && (bindingOperationCount([...current, group]) > MAX_TXN_OPS || bytes + size > TXN_BUDGET_BYTES)) {
      transactions.push(current);
      current = [];
      bytes = 0;
    }
    current.push(group);
    bytes += size;
  }
  if (current.length > 0) transactions.push(current);
  return transactions;
}

/**
 * `allocation(node)`: the node's allocation record as the placement saw it (the cache's, or what
 * this scheduler's own commit not yet in the cache made it); `totals`, the node's requests counted
 * with the new bindings. `committedNodes` in the outcome: each node's record after its last committed part.
 */
export async function commitBindings(
  store: ObjectStore, allocation: (node: string) => Pick<NodeAllocation, 'revision' | 'sequence'> | undefined,
  byNode: Map<string, Replica[]>, totals: (node: string) => NodeTotals,
): Promise<BindingOutcome> {
  const outcome: BindingOutcome = { committed: [], refused: [], refusedNodes: [], revision: 0, transactions: 0, errors: [], committedNodes: new Map() };
  const forms = new Map<Replica, StoredForm<Replica>>();
  for (const replicas of byNode.values()) for (const replica of replicas) forms.set(replica, storedForm(replica));
  const sizes = new Map([...forms].map(([replica, form]) => [replica, form.bytes]));
  const parts = nodeParts(byNode, sizes);
  const expected = new Map<string, number>();
  for (const node of parts.keys()) expected.set(node, allocation(node)?.revision ?? 0);
  const sequence = (node: string) => allocation(node)?.sequence ?? 0;
  for (let round = 0; parts.size > 0; round++) {
    const groups: NodeBindings[] = [];
    for (const [node, chunks] of parts) {
      const replicas = chunks[round];
      if (!replicas) continue;
      groups.push({ node, expectedRevision: expected.get(node)!, requested: totals(node).requested, sequence: sequence(node) + round + 1, replicas });
    }
    if (groups.length === 0) break;
    await inParallel(pack(groups, sizes), COMMITS_AT_ONCE, async (transaction) => {
      // A transaction that failed (etcd out of space, unreachable) is refused like a conflict: its
      // replicas are placed again by a later cycle, and the other transactions go on.
      const result = await store.commitBindings(transaction, forms).catch((error: Error) => {
        outcome.errors.push(error);
        return { committed: false, revision: 0 };
      });
      outcome.transactions++;
      outcome.revision = Math.max(outcome.revision, result.revision);
      for (const group of transaction) {
        if (result.committed) {
          outcome.committed.push(...group.replicas);
          expected.set(group.node, result.revision);
          outcome.committedNodes.set(group.node, { revision: result.revision, sequence: group.sequence });
          continue;
        }
        // Later parts of this node compare a revision that will not come: they are placed again too.
        outcome.refused.push(...parts.get(group.node)!.slice(round).flat());
        outcome.refusedNodes.push(group.node);
        parts.delete(group.node);
      }
    });
    for (const [node, chunks] of parts) if (chunks.length <= round + 1) parts.delete(node);
  }
  return outcome;
}
