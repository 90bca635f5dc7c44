/**
 * What one sync of one replica does next, from the desired assignment and what the agent knows of its
 * container. Pure: the reconciler performs the action and syncs the key again when it is done.
 */

export interface DesiredReplica {
  templateHash: string;
  /** Its container is to be frozen (ReplicaAssignment.paused). */
  paused?: boolean;
}

export interface ObservedReplica {
  /** A container exists (alive, or exited and not removed yet). */
  hasContainer: boolean;
  /** That container's process has exited. */
  exited: boolean;
  /** Template hash the container was started from (its label). */
  containerTemplateHash?: string;
  /** The restart policy said the replica stays down. */
  finished: boolean;
  /** Not before this time (ms since epoch) is a container started again. */
  nextStartAt: number;
  /** A liveness or startup probe failed: the container must be restarted. */
  unhealthy?: boolean;
  /**
   * No longer desired and still in load balancers' endpoints until this time (ms): the container
   * keeps serving in-flight requests until every balancer has dropped it.
   */
  drainUntil?: number;
  /** The container is frozen (the cgroup freezer). */
  paused?: boolean;
  /**
   * Desired paused and not frozen yet: reported not ready at once, and frozen at this time (ms),
   * once every balancer has dropped it, so that no request is left hanging in a frozen process.
   */
  pauseAt?: number;
}

export type ReplicaAction =
  | { type: 'none' }
  /** Start the container now. */
  | { type: 'start' }
  /** Sync again at this time (restart backoff). */
  | { type: 'wait'; untilMs: number }
  /** Record the exit, remove the exited container, decide the restart. */
  | { type: 'record-exit' }
  /** Stop (with the grace period) and remove the container; `forget` also drops the replica. */
  | { type: 'stop'; forget: boolean }
  /** Stop the container (with the grace period) and keep it as exited: its restart follows the policy. */
  | { type: 'kill' }
  /** No container and not desired: drop the replica and report it gone. */
  | { type: 'forget' }
  /** Freeze the running container (desired paused). */
  | { type: 'pause' }
  /** Thaw the frozen container (no longer desired paused). */
  | { type: 'unpause' };

export function nextReplicaAction(desired: DesiredReplica | undefined, observed: ObservedReplica, nowMs: number): ReplicaAction {
  if (!desired) {
    if (!observed.hasContainer) return { type: 'forget' };
    if (!observed.exited && observed.drainUntil !== undefined && nowMs < observed.drainUntil) return { type: 'wait', untilMs: observed.drainUntil };
    return { type: 'stop', forget: true };
  }
  if (observed.hasContainer && observed.exited) return { type: 'record-exit' };
  if (observed.hasContainer) {
    // Replica names carry the template hash, so this only happens if a control plane reuses a name.
    const stale = observed.containerTemplateHash !== undefined && observed.containerTemplateHash !== desired.templateHash;
    if (stale) return { type: 'stop', forget: false };
    // Paused or pausing, its probes do not count: a frozen process answers none.
    if (desired.paused) return pauseStep(observed, nowMs);
    if (observed.paused) return { type: 'unpause' };
    return observed.unhealthy ? { type: 'kill' } : { type: 'none' };
  }
  if (observed.finished) return { type: 'none' };
  if (nowMs < observed.nextStartAt) return { type: 'wait', untilMs: observed.nextStartAt };
  return { type: 'start' };
}

function pauseStep(observed: ObservedReplica, nowMs: number): ReplicaAction {
  if (observed.paused) return { type: 'none' };
  if (observed.pauseAt !== undefined && nowMs < observed.pauseAt) return { type: 'wait', untilMs: observed.pauseAt };
  return { type: 'pause' };
}
