/**
 * What the node lifecycle loop does with each node, from its Node object, whether its lease key is
 * alive, and the clock. Pure: the controller reads the cache and writes the answer.
 *
 * A node whose lease expired is NotReady at once (its endpoints leave every balancer then, see
 * published.endpoints.ts); once it has been NotReady for the grace period its replicas are failed as
 * NodeLost and replaced. The grace is short by default (2 s): it lets a live agent whose lease lapsed
 * (a stall, a control plane failover) register again before anything moves, and it leaves the agent
 * of a host cut off from the cluster time to have stopped its own replicas (it does so when its lease
 * runs out and it reaches no peer: the agent's isolation fence), so a replacement never runs beside
 * a copy that still serves.
 *
 * Evictions pause when the control plane, rather than the nodes, is likely the one cut off: no node
 * is Ready, or more than 2 nodes and at least 55 % of them are NotReady (Kubernetes' node lifecycle
 * controller's full and partial disruption, `--unhealthy-zone-threshold` 0.55, whose small clusters
 * get no evictions in partial disruption either). Replicas would otherwise be stopped everywhere the
 * moment the network heals, for replacements with nowhere better to go.
 */
import { Node } from '@tide/api';

export type NodeLifecycleAction =
  | { type: 'none' }
  | { type: 'not-ready' }
  | { type: 'ready' }
  | { type: 'evict' };

/** The share of NotReady nodes at and above which evictions pause (Kubernetes' unhealthy-zone-threshold). */
export const DISRUPTION_THRESHOLD = 0.55;
/** Evictions pause on the share above only with more NotReady nodes than this (Kubernetes: 2). */
export const DISRUPTION_MIN_NOT_READY = 2;

/** One node: `alive` whether its lease key exists, `nowMs` the clock, `graceMs` the NotReady time before eviction. */
export function nodeLifecycleAction(node: Node, alive: boolean, nowMs: number, graceMs: number): NodeLifecycleAction {
  const ready = node.status?.ready === true;
  if (ready && !alive) return { type: 'not-ready' };
  if (!ready && alive) return { type: 'ready' };
  if (!ready && graceExpired(node, nowMs, graceMs)) return { type: 'evict' };
  return { type: 'none' };
}

/** NotReady for longer than the grace (a node without a NotReadySince never was Ready: it is not evicted by the clock). */
export function graceExpired(node: Node, nowMs: number, graceMs: number): boolean {
  const since = Date.parse(node.status?.notReadySince ?? '');
  return Number.isFinite(since) && nowMs - since > graceMs;
}

/**
 * Why evictions should wait, or undefined when they may go on. `alive`: the nodes whose lease key
 * exists (a node counts as Ready here when its lease is alive, whatever its object says yet).
 */
export function evictionsPaused(nodes: Node[], alive: ReadonlySet<string>): string | undefined {
  if (nodes.length === 0) return undefined;
  const notReady = nodes.filter((n) => !alive.has(n.metadata.name)).length;
  if (notReady === nodes.length) return `all ${nodes.length} node(s) are NotReady: the control plane is likely the one cut off`;
  if (notReady > DISRUPTION_MIN_NOT_READY && notReady / nodes.length >= DISRUPTION_THRESHOLD) {
    return `${notReady} of ${nodes.length} nodes are NotReady (≥ ${DISRUPTION_THRESHOLD * 100} %): a network disruption rather than lost hosts`;
  }
  return undefined;
}
