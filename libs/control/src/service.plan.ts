/**
 * What the service controller should do for one Service, as a pure function of the Service and its
 * replicas: which replicas to create and which to terminate. Level-triggered: the same inputs
 * always give the same plan, and applying it converges.
 *
 * The plan counts units, not replicas: a replica being moved and its replacement (replica.moves.ts)
 * are one unit until the replacement is ready, so the surge replica is never "excess" and a move
 * never lowers the number of ready replicas. A unit is judged by its lead (the replacement when
 * there is one: what the unit will be once the move is done).
 */
import { Replica, ReplicaPhase, Service, ServiceStatus, replicaTemplate, rolloutLimits, templateHash } from '@tide/api';
import { newReplica, replacementFor } from './replica.factory';
import { Move, pairMoves } from './replica.moves';
import { isLost, isTerminating } from './replica.predicates';

export interface ServicePlan {
  /** Fresh replicas: the service has fewer units than it wants (scale-out, lost replicas). */
  create: Replica[];
  /** A rolling update's replacements (`spec.replaces`, reason Update) of replicas on older templates. */
  replace: Replica[];
  /** Every replica that goes: lost, surplus, finished moves' old ones, retired ones, withdrawn replacements. */
  terminate: Replica[];
  /** Moves whose replacement is ready: their old replica is in `terminate`. */
  completed: Move[];
  /** Units terminated because the service has more than it wants. */
  scaledIn: number;
}

interface Unit {
  lead: Replica;
  members: Replica[];
}

const TERMINAL: ReplicaPhase[] = ['Succeeded', 'Failed'];

/**
 * Order in which surplus units go: unscheduled first, then not ready, then (during a rollout) those
 * on an older template, then those on the node holding the fewest of the service's replicas (a
 * scale-in empties nodes, which the node autoscaler then hands back; Kubernetes spreads instead),
 * node by node, then the newest, then by name. A unit in the middle of a move ranks by its replacement, so a
 * scale-in drops a pending move first.
 */
function deletionOrder(hash: string, units: readonly Unit[]): (a: Unit, b: Unit) => number {
  const onNode = new Map<string, number>();
  for (const u of units) if (u.lead.spec.nodeName) onNode.set(u.lead.spec.nodeName, (onNode.get(u.lead.spec.nodeName) ?? 0) + 1);
  const rank = (r: Replica) => (!r.spec.nodeName ? 0 : !r.status?.ready ? 1 : r.spec.templateHash !== hash ? 2 : 3);
  const siblings = (r: Replica) => (r.spec.nodeName ? onNode.get(r.spec.nodeName) ?? 0 : 0);
  return (a, b) => rank(a.lead) - rank(b.lead)
    || siblings(a.lead) - siblings(b.lead)
    // Nodes holding as many go one after the other, not a replica from each: a scale-in of a node's
    // worth empties a node instead of thinning them all.
    || (a.lead.spec.nodeName ?? '').localeCompare(b.lead.spec.nodeName ?? '')
    || (b.lead.metadata.creationTimestamp ?? '').localeCompare(a.lead.metadata.creationTimestamp ?? '')
    || a.lead.metadata.name.localeCompare(b.lead.metadata.name);
}

/** The service's units: lone replicas, moves in flight, and finished moves (their replacement alone). */
function unitsOf(live: readonly Replica[]): { units: Unit[]; completed: Move[] } {
  const { moves, singles } = pairMoves(live);
  const completed = moves.filter((m) => m.replacement.status?.ready);
  const units: Unit[] = singles.map((r) => ({ lead: r, members: [r] }));
  for (const move of moves) {
    units.push({ lead: move.replacement, members: completed.includes(move) ? [move.replacement] : [move.old, move.replacement] });
  }
  return { units, completed };
}

/**
 * A replacement not ready yet on a template that is no longer the Service's (the template changed
 * again, or was undone) is withdrawn: its old replica stands alone again and is rolled like any other.
 */
function withdrawOutdated(units: Unit[], hash: string): { units: Unit[]; withdrawn: Replica[] } {
  const withdrawn: Replica[] = [];
  const kept = units.map((u) => {
    if (u.members.length < 2 || u.lead.spec.templateHash === hash || u.lead.status?.ready) return u;
    withdrawn.push(u.lead);
    const old = u.members.find((r) => r !== u.lead)!;
    return { lead: old, members: [old] };
  });
  return { units: kept, withdrawn };
}

export function planService(service: Service, replicas: Replica[], random: () => number = Math.random): ServicePlan {
  const template = replicaTemplate(service);
  const hash = templateHash(template);
  const desired = service.spec.replicas;
  const live = replicas.filter((r) => !isTerminating(r));
  const lost = live.filter(isLost);
  const paired = unitsOf(live.filter((r) => !isLost(r)));
  const { units, withdrawn } = withdrawOutdated(paired.units, hash);
  const create = Array.from({ length: Math.max(0, desired - units.length) }, () => newReplica(service, random, template, hash));
  // Sorted only when some must go (a pass over a service at its size sorts nothing).
  const surplus = units.length > desired ? [...units].sort(deletionOrder(hash, units)).slice(0, units.length - desired) : [];
  const going = new Set(surplus);
  const staying = units.filter((u) => !going.has(u));
  const rollout = planRollout(service, hash, staying, create.length);
  return {
    create,
    replace: rollout.replace,
    terminate: [...lost, ...paired.completed.map((m) => m.old), ...withdrawn, ...surplus.flatMap((u) => u.members), ...rollout.retire],
    completed: paired.completed,
    scaledIn: surplus.length,
  };
}

/** Not ready before ready, then the oldest first. */
function rolloutOrder(a: Unit, b: Unit): number {
  return Number(Boolean(a.lead.status?.ready)) - Number(Boolean(b.lead.status?.ready))
    || (a.lead.metadata.creationTimestamp ?? '').localeCompare(b.lead.metadata.creationTimestamp ?? '') || a.lead.metadata.name.localeCompare(b.lead.metadata.name);
}

/**
 * One step of a rolling update over the units that stay (apps/control-plane/README.md, "Rolling updates").
 * Each replica on an older template is, in turn (not ready ones first: replacing them costs no
 * capacity), either moved (a replacement created; it goes once that is ready) while the replicas
 * number fewer than desired + maxSurge, or retired at once (terminated, a replacement created in its
 * place) while the ready replicas stay at least desired - maxUnavailable.
 */
function planRollout(service: Service, hash: string, staying: Unit[], creating: number): { replace: Replica[]; retire: Replica[] } {
  const desired = service.spec.replicas;
  const { maxSurge, maxUnavailable } = rolloutLimits(service.spec.update, desired);
  const members = staying.flatMap((u) => u.members);
  let total = members.length + creating;
  let ready = members.filter((r) => r.status?.ready).length;
  const outdated = staying.filter((u) => u.members.length === 1 && u.lead.spec.templateHash !== hash).sort(rolloutOrder);
  const replace: Replica[] = [];
  const retire: Replica[] = [];
  for (const { lead: old } of outdated) {
    if (total < desired + maxSurge) {
      replace.push(replacementFor(service, old, 'Update'));
      total++;
    } else if (!old.status?.ready || ready - 1 >= desired - maxUnavailable) {
      replace.push(replacementFor(service, old, 'Update'));
      retire.push(old);
      if (old.status?.ready) ready--;
    }
  }
  return { replace, retire };
}

export function serviceStatus(service: Service, replicas: Replica[]): ServiceStatus {
  const { units } = unitsOf(replicas.filter((r) => !isTerminating(r) && !isLost(r)));
  const count = (phase: ReplicaPhase) => units.filter((u) => unitPhase(u) === phase).length;
  return {
    observedGeneration: service.metadata.generation,
    replicas: units.filter((u) => !TERMINAL.includes(unitPhase(u))).length,
    readyReplicas: units.filter((u) => u.members.some((r) => r.status?.ready)).length,
    runningReplicas: count('Running'),
    pendingReplicas: count('Pending'),
  };
}

/** A moving unit is Running while either of its replicas runs; otherwise it is what its lead is. */
function unitPhase(unit: Unit): ReplicaPhase {
  if (unit.members.some((r) => r.status?.phase === 'Running')) return 'Running';
  return unit.lead.status?.phase ?? 'Pending';
}

/** How far the Service's replicas are on its current template (`hash`), for the rollout's status. */
export interface RolloutCounts {
  /** Units on the current template, and of those the ready ones. */
  updated: number;
  updatedReady: number;
  /** Live replicas on other templates (a moving old one included). */
  old: number;
  /** Live replicas, surge included. */
  total: number;
  /** Replicas on the current template that are not ready: why a rollout waits. */
  waitingOn: Replica[];
}

export function rolloutCounts(replicas: Replica[], hash: string): RolloutCounts {
  const live = replicas.filter((r) => !isTerminating(r) && !isLost(r));
  const { units } = unitsOf(live);
  const updated = units.filter((u) => u.lead.spec.templateHash === hash);
  return {
    updated: updated.length,
    updatedReady: updated.filter((u) => u.lead.status?.ready).length,
    old: live.filter((r) => r.spec.templateHash !== hash).length,
    total: live.length,
    waitingOn: live.filter((r) => r.spec.templateHash === hash && !r.status?.ready),
  };
}
