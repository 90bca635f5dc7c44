/**
 * How far the emptying of one node has come, as a pure function of the Node and the replicas: what
 * `GET /api/v1/nodes/NAME/drain` answers, what `tsctl drain` prints, and what the drain controller
 * acts on.
 */
import { DrainItem, DrainProgress, Node, Replica } from '@tide/api';
import { isLost, isTerminating } from './replica.predicates';

/**
 * A replica that has to leave a node being emptied: live, not lost, and either holding resources or
 * restarted by its policy (a failed start of an `Always` replica is retried, so it is not finished).
 */
export function mustMove(replica: Replica): boolean {
  if (isTerminating(replica) || isLost(replica)) return false;
  const phase = replica.status?.phase;
  const finished = phase === 'Succeeded' || phase === 'Failed';
  return !finished || replica.spec.template.restartPolicy === 'Always';
}

export function drainProgress(node: Node, replicas: readonly Replica[]): DrainProgress {
  const name = node.metadata.name;
  const live = replicas.filter((r) => !isTerminating(r));
  const liveNames = new Set(live.map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  const replacements = new Map<string, Replica>();
  for (const r of live) if (r.spec.replaces) replacements.set(`${r.metadata.namespace}/${r.spec.replaces.replica}`, r);
  const onNode = replicas.filter((r) => r.spec.nodeName === name);
  const item = (r: Replica): DrainItem => {
    const replacement = replacements.get(`${r.metadata.namespace}/${r.metadata.name}`);
    const surge = r.spec.replaces !== undefined && liveNames.has(`${r.metadata.namespace}/${r.spec.replaces.replica}`);
    const stuck = replacement !== undefined && !replacement.spec.nodeName && replacement.status?.unschedulable !== undefined;
    return {
      namespace: r.metadata.namespace, replica: r.metadata.name, service: r.spec.service,
      phase: isTerminating(r) ? 'Terminating' : r.status?.phase ?? 'Pending', ready: r.status?.ready ?? false,
      ...(replacement ? { replacement: {
        name: replacement.metadata.name, ...(replacement.spec.nodeName ? { node: replacement.spec.nodeName } : {}),
        phase: replacement.status?.phase ?? 'Pending', ready: replacement.status?.ready ?? false,
      } } : {}),
      surge, stuck, message: isTerminating(r) ? stoppingMessage(r, replacement) : itemMessage(r, replacement, surge, node.spec.drain !== undefined),
    };
  };
  const remaining = onNode.filter(mustMove).map(item);
  const stopping = onNode.filter(isTerminating).map(item);
  // A move is told once its old replica is stopping or gone: until then the item above says how it goes.
  const moved = live.filter((r) => r.spec.replaces?.fromNode === name && r.spec.nodeName && r.spec.nodeName !== name
    && !liveNames.has(`${r.metadata.namespace}/${r.spec.replaces.replica}`))
    .map((r) => ({ namespace: r.metadata.namespace, replica: r.spec.replaces!.replica, replacement: r.metadata.name, node: r.spec.nodeName! }));
  return {
    node: name, cordoned: node.spec.cordoned ?? false, ...(node.spec.drain ? { drain: node.spec.drain } : {}),
    empty: remaining.length === 0 && stopping.length === 0, remaining, stopping, moved,
  };
}

function stoppingMessage(replica: Replica, replacement: Replica | undefined): string {
  const grace = `grace period ${replica.spec.template.terminationGracePeriodSeconds}s`;
  return replacement?.spec.nodeName ? `stopping (${grace}): replacement ${replacement.metadata.name} is ready on ${replacement.spec.nodeName}` : `stopping (${grace})`;
}

function itemMessage(replica: Replica, replacement: Replica | undefined, surge: boolean, draining: boolean): string {
  if (surge) return `replacement of ${replica.spec.replaces!.replica}: moved once it is ready`;
  if (!replacement) return draining ? 'waiting for its turn to move' : 'not moving: the node is not being drained';
  const r = replacement.metadata.name;
  if (!replacement.spec.nodeName) {
    const unschedulable = replacement.status?.unschedulable;
    return unschedulable ? `stuck: no other node can take its replacement ${r}: ${unschedulable.summary}` : `replacement ${r} waiting for a node`;
  }
  if (replacement.status?.ready) return `replacement ${r} ready on ${replacement.spec.nodeName}; stopping this one`;
  const why = replacement.status?.message ? ` (${replacement.status.message})` : '';
  return `replacement ${r} ${(replacement.status?.phase ?? 'Scheduled').toLowerCase()} on ${replacement.spec.nodeName}${why}`;
}
