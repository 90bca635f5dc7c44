/** What a node's agent is told to run: the replicas bound to the node that it should keep running. Pure. */
import { ReplicaAssignment, Replica, assignedTemplate } from '@tide/api';

/**
 * Sorted by namespace/name, so that an unchanged set gives equal text. `assignment`: how a replica's
 * assignment is made (a caller may reuse the ones it made before). A replica being deleted is
 * left out (the agent stops it with its grace period), and so is one failed as NodeLost (it was
 * replaced elsewhere while its node was away; the agent must not run it again).
 */
export function desiredAssignments(replicas: Replica[], assignment: (replica: Replica) => ReplicaAssignment = assignmentOf): ReplicaAssignment[] {
  return replicas
    .filter((r) => !r.metadata.deletionTimestamp && r.status?.lastExit?.reason !== 'NodeLost')
    .map((r) => ({ key: `${r.metadata.namespace}/${r.metadata.name}`, r }))
    .sort((a, b) => a.key.localeCompare(b.key))
    .map(({ r }) => assignment(r));
}

export function assignmentOf(replica: Replica): ReplicaAssignment {
  return {
    namespace: replica.metadata.namespace, name: replica.metadata.name, service: replica.spec.service, templateHash: replica.spec.templateHash,
    template: assignedTemplate(replica.spec.template),
    ...(replica.spec.paused ? { paused: true as const } : {}),
  };
}
