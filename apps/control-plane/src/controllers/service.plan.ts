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
import { Replica, ReplicaPhase, Service, ServiceStatus, replicaTemplate, templateHash } from '@tide/api';
import { newReplica } from './replica.factory';
import { Move, pairMoves } from './replica.moves';

export { newReplica } from './replica.factory';

export interface ServicePlan {
  create: Replica[];
  terminate: Replica[];
  /** Moves whose replacement is ready: their old replica is in `terminate`. */
  completed: Move[];
}

interface Unit {
  lead: Replica;
  members: Replica[];
}

const TERMINAL: ReplicaPhase[] = ['Succeeded', 'Failed'];

export function isTerminating(replica: Replica): boolean {
  return replica.metadata.deletionTimestamp !== undefined;
}

/** A replica lost with its node is replaced; other terminal replicas stay (their restart policy said so). */
export function isLost(replica: Replica): boolean {
  return replica.status?.phase === 'Failed' && replica.status.lastExit?.reason === 'NodeLost';
}

/**
 * Order in which surplus units go: unscheduled first, then not ready, then the newest. A unit in
 * the middle of a move ranks by its replacement, so a scale-in drops a pending move first.
 */
function deletionOrder(a: Unit, b: Unit): number {
  const rank = (r: Replica) => (!r.spec.nodeName ? 0 : !r.status?.ready ? 1 : 2);
  return rank(a.lead) - rank(b.lead) || (b.lead.metadata.creationTimestamp ?? '').localeCompare(a.lead.metadata.creationTimestamp ?? '');
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

export function planService(service: Service, replicas: Replica[], random: () => number = Math.random): ServicePlan {
  const hash = templateHash(replicaTemplate(service));
  const desired = service.spec.replicas;
  const live = replicas.filter((r) => !isTerminating(r));
  const lost = live.filter(isLost);
  const { units, completed } = unitsOf(live.filter((r) => !isLost(r)));
  const current = units.filter((u) => u.lead.spec.templateHash === hash);
  const outdated = units.filter((u) => u.lead.spec.templateHash !== hash);
  const create = Array.from({ length: Math.max(0, desired - current.length) }, () => newReplica(service, random));
  // Old-template replicas leave as new ones run: keep at most `desired` running in total (surge of new ones).
  const runningCurrent = current.filter((u) => u.members.some((r) => r.spec.templateHash === hash && r.status?.phase === 'Running')).length;
  const outdatedToGo = Math.min(outdated.length, Math.max(0, outdated.length + runningCurrent - desired));
  const surplus = [...current].sort(deletionOrder).slice(0, Math.max(0, current.length - desired));
  const leaving = [...[...outdated].sort(deletionOrder).slice(0, outdatedToGo), ...surplus];
  return {
    create,
    terminate: [...lost, ...completed.map((m) => m.old), ...leaving.flatMap((u) => u.members)],
    completed,
  };
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
