/**
 * What the service controller should do for one Service, as a pure function of the Service and its
 * replicas: which replicas to create and which to terminate. Level-triggered: the same inputs
 * always give the same plan, and applying it converges.
 */
import { Replica, ReplicaPhase, Service, ServiceStatus, replicaName, replicaTemplate, templateHash } from '@tide/api';

export interface ServicePlan {
  create: Replica[];
  terminate: Replica[];
}

const TERMINAL: ReplicaPhase[] = ['Succeeded', 'Failed'];

export function isTerminating(replica: Replica): boolean {
  return replica.metadata.deletionTimestamp !== undefined;
}

/** A replica lost with its node is replaced; other terminal replicas stay (their restart policy said so). */
export function isLost(replica: Replica): boolean {
  return replica.status?.phase === 'Failed' && replica.status.lastExit?.reason === 'NodeLost';
}

/** Order in which surplus replicas go: unscheduled first, then not ready, then the newest. */
function deletionOrder(a: Replica, b: Replica): number {
  const rank = (r: Replica) => (!r.spec.nodeName ? 0 : !r.status?.ready ? 1 : 2);
  return rank(a) - rank(b) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

export function newReplica(service: Service, random: () => number = Math.random): Replica {
  const template = replicaTemplate(service);
  const hash = templateHash(template);
  return {
    apiVersion: 'tide/v1', kind: 'Replica',
    metadata: { name: replicaName(service.metadata.name, hash, random), namespace: service.metadata.namespace, labels: { service: service.metadata.name } },
    spec: { service: service.metadata.name, templateHash: hash, template },
    status: { phase: 'Pending', ready: false, restartCount: 0 },
  };
}

export function planService(service: Service, replicas: Replica[], random: () => number = Math.random): ServicePlan {
  const hash = templateHash(replicaTemplate(service));
  const desired = service.spec.replicas;
  const live = replicas.filter((r) => !isTerminating(r));
  const lost = live.filter(isLost);
  const active = live.filter((r) => !isLost(r));
  const current = active.filter((r) => r.spec.templateHash === hash);
  const outdated = active.filter((r) => r.spec.templateHash !== hash);
  const create = Array.from({ length: Math.max(0, desired - current.length) }, () => newReplica(service, random));
  // Old-template replicas leave as new ones run: keep at most `desired` running in total (surge of new ones).
  const runningCurrent = current.filter((r) => r.status?.phase === 'Running').length;
  const outdatedToGo = Math.min(outdated.length, Math.max(0, outdated.length + runningCurrent - desired));
  const surplus = [...current].sort(deletionOrder).slice(0, Math.max(0, current.length - desired));
  return {
    create,
    terminate: [...lost, ...[...outdated].sort(deletionOrder).slice(0, outdatedToGo), ...surplus],
  };
}

export function serviceStatus(service: Service, replicas: Replica[]): ServiceStatus {
  const live = replicas.filter((r) => !isTerminating(r) && !isLost(r));
  const count = (phase: ReplicaPhase) => live.filter((r) => r.status?.phase === phase).length;
  return {
    observedGeneration: service.metadata.generation,
    replicas: live.filter((r) => !TERMINAL.includes(r.status?.phase ?? 'Pending')).length,
    readyReplicas: live.filter((r) => r.status?.ready).length,
    runningReplicas: count('Running'),
    pendingReplicas: count('Pending'),
  };
}
