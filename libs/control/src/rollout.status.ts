/**
 * A Service's "Progressing" condition, as Kubernetes keeps it for a Deployment: a pure function of
 * the previous status, the replica counts and the time. A new spec (template or count) starts a
 * rollout; every step forward (more replicas updated or ready, fewer old ones) restarts the
 * progress deadline; a rollout without progress for `progressDeadlineSeconds` is reported stuck,
 * with the first updated replica that is not ready and why. The last progress time lives in the
 * stored condition, so a restarted control plane keeps the clock.
 */
import { Replica, Service, ServiceCondition, ServiceStatus, rolloutLimits } from '@tide/api';
import { RolloutCounts } from './service.plan';

export interface RolloutEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ProgressInput {
  service: Service;
  hash: string;
  revision: number;
  counts: RolloutCounts;
  previous: ServiceStatus | undefined;
  now: Date;
}

export const REASON_UPDATING = 'ReplicasUpdating';
export const REASON_COMPLETE = 'NewReplicasAvailable';
export const REASON_STUCK = 'ProgressDeadlineExceeded';

export function progressingCondition(input: ProgressInput): { condition: ServiceCondition; event?: RolloutEvent } {
  const { service, hash, revision, counts, previous, now } = input;
  const desired = service.spec.replicas;
  const before = previous?.conditions?.find((c) => c.type === 'Progressing');
  const newSpec = !before || previous?.templateHash !== hash || previous.observedGeneration !== service.metadata.generation;
  const at = now.toISOString();
  const make = (status: ServiceCondition['status'], reason: string, message: string, lastUpdateTime = at): ServiceCondition => ({
    type: 'Progressing', status, reason, message, lastUpdateTime,
    lastTransitionTime: before && before.status === status ? before.lastTransitionTime : at,
  });
  const complete = counts.updated === desired && counts.updatedReady === desired && counts.old === 0 && counts.total === desired;
  if (complete) {
    if (before?.reason === REASON_COMPLETE && !newSpec) return { condition: before };
    const message = `revision ${revision} rolled out: ${desired} of ${desired} replica(s) updated and ready`;
    return { condition: make('True', REASON_COMPLETE, message), event: { type: 'Normal', reason: 'RolledOut', message } };
  }
  // Done, then a replica failed without a new spec: that is not a rollout (the replica's own events say why).
  if (before?.reason === REASON_COMPLETE && !newSpec) return { condition: before };
  const progress = `revision ${revision}: ${counts.updated} of ${desired} updated, ${counts.updatedReady} ready, ${counts.old} old replica(s) left`;
  if (newSpec || progressed(counts, previous)) return { condition: make('True', REASON_UPDATING, progress) };
  if (before!.reason === REASON_STUCK) return { condition: before! };
  const { progressDeadlineSeconds } = rolloutLimits(service.spec.update, desired);
  if (now.getTime() - Date.parse(before!.lastUpdateTime) < progressDeadlineSeconds * 1000) {
    return { condition: make('True', REASON_UPDATING, progress, before!.lastUpdateTime) };
  }
  const message = `revision ${revision} made no progress for ${progressDeadlineSeconds}s (${counts.updated} of ${desired} updated, `
    + `${counts.updatedReady} ready, ${counts.old} old replica(s) still serving): ${whyWaiting(counts)}`;
  return { condition: make('False', REASON_STUCK, message, before!.lastUpdateTime), event: { type: 'Warning', reason: REASON_STUCK, message } };
}

/** A step forward since the stored status: more updated or ready replicas, or fewer old ones. */
function progressed(counts: RolloutCounts, previous: ServiceStatus | undefined): boolean {
  return counts.updated > (previous?.updatedReplicas ?? 0)
    || counts.updatedReady > (previous?.updatedReadyReplicas ?? 0)
    || counts.old < (previous?.oldReplicas ?? Infinity);
}

/** The first updated replica that is not ready, with what its agent or the scheduler said. */
export function whyWaiting(counts: RolloutCounts): string {
  const told = (r: Replica) => r.status?.message ?? r.status?.unschedulable?.summary;
  const replica = counts.waitingOn.find(told) ?? counts.waitingOn[0];
  if (!replica) return 'no room for a replacement (the old replicas are all ready and maxUnavailable allows none to go)';
  return `replica ${replica.metadata.name} not ready: ${told(replica) ?? `phase ${replica.status?.phase ?? 'Pending'}`}`;
}
