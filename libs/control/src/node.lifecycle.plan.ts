/**
 * What the node lifecycle loop does with each node, from its Node object, whether its lease key is
 * alive, and the clock. Pure: the controller reads the cache and writes the answer.
 *
 * A node whose lease expired is NotReady at once (its endpoints leave every balancer then, see
 * published.endpoints.ts); once it has been NotReady for its grace period its replicas are failed as
 * NodeLost and replaced. Which grace depends on whether the node's host still answers a TCP connect
 * to its agent's port (the controller probes it):
 * - silent (a power cut, a partition): the short grace (`--node-grace-seconds`, 2 s). Its containers
 *   died with the host, or its agent, cut off, has stopped them (the isolation fence, when its lease
 *   runs out and it reaches no peer); the grace lets a live agent whose lease lapsed (a stall, a
 *   control plane failover) register again before anything moves.
 * - answering (refused or accepted: the host is up, its agent is not heartbeating: crashed,
 *   restarting, upgraded): the long grace (`--agent-down-grace-seconds`, 30 s). Its containers run
 *   on under the node's reaper: replacing them at once would run two copies, and a restarted agent
 *   adopts them.
 * - not probed yet: the long grace, to be safe.
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

/** The NotReady time before eviction: for a host that does not answer, and for one that does (or is not probed yet). */
export interface NodeGrace {
  hostSilentMs: number;
  hostAnswersMs: number;
}

/**
 * One node: `alive` whether its lease key exists, `nowMs` the clock, `hostAnswers` the latest probe
 * of its agent's port while NotReady (undefined: none yet).
 */
export function nodeLifecycleAction(node: Node, alive: boolean, nowMs: number, grace: NodeGrace, hostAnswers?: boolean): NodeLifecycleAction {
  const ready = node.status?.ready === true;
  if (ready && !alive) return { type: 'not-ready' };
  if (!ready && alive) return { type: 'ready' };
  const graceMs = hostAnswers === false ? grace.hostSilentMs : grace.hostAnswersMs;
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
