/**
 * Trough consolidation's what-if, pure (no etcd): is there a lightly used node whose replicas the
 * other nodes in use can take, so that it becomes empty? The question is asked to the scheduler
 * itself (libs/scheduler, with the node marked as being emptied, exactly as the scheduler loop will
 * see it during the move), so consolidation never plans a move the scheduler would not make.
 * Hysteresis against fighting the scheduler: only a node that can be emptied completely is chosen,
 * never by opening an empty node, and only when the cluster is settled (nothing pending, stopping
 * or moving).
 */
import { Node, Replica, Service } from '@tide/api';
import { DEFAULT_MAX_SKEW, NodeInfo, PendingReplica, scheduleBatch, serviceKey, spreadCap } from '@tide/scheduler';
import { mustMove } from './drain.progress';
import { holdsResources, isTerminating } from './replica.predicates';
import { nodeInfos, replicasByNode } from './scheduler.input';
import { pendingKeepingVolumes } from './local.volumes';

/** At most this many candidate nodes are tried per pass (lightest first): each is one scheduling batch. */
export const MAX_CANDIDATES = 10;

export interface Consolidation {
  node: string;
  /** Where the scheduler would put each replica of the node. */
  moves: { replica: Replica; to: string }[];
}

/** Why the cluster is not settled enough to consolidate, or undefined when it is. */
export function unsettled(nodes: readonly Node[], replicas: readonly Replica[]): string | undefined {
  const busy = nodes.find((n) => n.spec.drain);
  if (busy) return `node ${busy.metadata.name} is being emptied (${busy.spec.drain!.reason})`;
  const live = replicas.filter((r) => !isTerminating(r));
  if (replicas.some(isTerminating)) return 'replicas are stopping';
  if (live.some((r) => !r.spec.nodeName)) return 'replicas are waiting for a node';
  const names = new Set(live.map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  if (live.some((r) => r.spec.replaces && names.has(`${r.metadata.namespace}/${r.spec.replaces.replica}`))) return 'a move is in flight';
  return undefined;
}

/** Why a consolidation under way stops (turned off, or a replica finds no node: the room is needed), or undefined. */
export function consolidationCancelled(enabled: boolean, replicas: readonly Replica[]): string | undefined {
  if (!enabled) return 'consolidation is turned off';
  const stuck = replicas.find((r) => !r.spec.nodeName && !isTerminating(r) && r.status?.unschedulable);
  return stuck ? `replica ${stuck.metadata.name} cannot be placed (${stuck.status!.unschedulable!.summary}): the room is needed` : undefined;
}

/** A node worth emptying: Ready, schedulable, in use, and every replica on it ready and safe to restart elsewhere. */
function candidateReplicas(node: Node, onNode: readonly Replica[], services: ReadonlySet<string>): Replica[] | undefined {
  if (!node.status?.ready || node.spec.cordoned || node.spec.drain) return undefined;
  const mine = onNode.filter(mustMove);
  if (mine.length === 0) return undefined;
  // A run-to-completion replica (restart policy other than Always) would start its work over: leave it be.
  const movable = mine.every((r) => r.status?.ready && r.spec.template.restartPolicy === 'Always'
    && services.has(`${r.metadata.namespace}/${r.spec.service}`));
  return movable ? mine : undefined;
}

function utilisation(info: NodeInfo): number {
  return Math.max(info.requested.cpu / Math.max(1, info.allocatable.cpu), info.requested.memory / Math.max(1, info.allocatable.memory));
}

export function findConsolidation(nodes: readonly Node[], replicas: readonly Replica[], services: readonly Service[]): Consolidation | undefined {
  if (unsettled(nodes, replicas)) return undefined;
  const serviceKeys = new Set(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  // One pass over the replicas, not one per node: a pass stays linear in the cluster's size.
  const byNode = replicasByNode(replicas);
  const infos = nodeInfos(nodes, replicas, byNode);
  const infoByName = new Map(infos.map((i) => [i.name, i]));
  const inUse = new Set(replicas.filter((r) => holdsResources(r)).map((r) => r.spec.nodeName!));
  const candidates = nodes
    .map((node) => ({ node, mine: candidateReplicas(node, byNode.get(node.metadata.name) ?? [], serviceKeys), info: infoByName.get(node.metadata.name)! }))
    .filter((c): c is { node: Node; mine: Replica[]; info: NodeInfo } => c.mine !== undefined)
    .sort((a, b) => utilisation(a.info) - utilisation(b.info) || a.mine.length - b.mine.length)
    .slice(0, MAX_CANDIDATES);
  for (const { node, mine } of candidates) {
    const found = whatIf(node.metadata.name, mine, infos, inUse);
    if (found) return found;
  }
  return undefined;
}

/** Places the node's replicas on the others as the scheduler would during the move; undefined when that fails. */
function whatIf(name: string, mine: Replica[], infos: readonly NodeInfo[], inUse: ReadonlySet<string>): Consolidation | undefined {
  const snapshot = infos.map((i) => (i.name === name ? { ...i, cordoned: true } : i));
  // A replica using a named local volume cannot leave its node (the data stays): no such node is emptied.
  const pending = mine.map((r) => pendingKeepingVolumes(r, name));
  const result = scheduleBatch(snapshot, pending);
  if (result.unschedulable.length > 0) return undefined;
  if (result.bindings.some((b) => !inUse.has(b.node))) return undefined;
  if (!spreadKept(name, result.bindings, infos)) return undefined;
  const byName = new Map(mine.map((r) => [r.metadata.name, r]));
  return { node: name, moves: result.bindings.map((b) => ({ replica: byName.get(b.replica.name)!, to: b.node })) };
}

/**
 * The arrangement after the move must be one the scheduler could have made: on every node that
 * receives replicas, each service holds no more than its spread cap with the emptied node
 * schedulable again (as if its last replica were being placed there). The scheduler admits the surge
 * replicas with the old ones still counted, which is looser; this check is what keeps a service
 * spread once the old replicas are gone.
 */
function spreadKept(emptied: string, bindings: readonly { replica: PendingReplica; node: string }[], infos: readonly NodeInfo[]): boolean {
  const after = infos.map((i) => ({ ...i, replicasOfService: { ...(i.replicasOfService ?? {}) } }));
  const byName = new Map(after.map((i) => [i.name, i]));
  for (const { replica, node } of bindings) {
    const key = serviceKey(replica);
    byName.get(emptied)!.replicasOfService[key] -= 1;
    byName.get(node)!.replicasOfService[key] = (byName.get(node)!.replicasOfService[key] ?? 0) + 1;
  }
  return bindings.every(({ replica, node }) => {
    const key = serviceKey(replica);
    const total = after.reduce((sum, i) => sum + (i.replicasOfService[key] ?? 0), 0);
    const eligible = after.filter((i) => i.ready && (i.name === emptied || !i.cordoned) && matches(replica, i)).length;
    const cap = spreadCap({ eligibleNodes: eligible, serviceReplicas: total - 1 }, replica.maxSkew ?? DEFAULT_MAX_SKEW);
    return byName.get(node)!.replicasOfService[key] <= cap;
  });
}

function matches(replica: PendingReplica, node: NodeInfo): boolean {
  return Object.entries(replica.nodeSelector ?? {}).every(([k, v]) => node.labels[k] === v);
}
