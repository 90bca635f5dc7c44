/**
 * What one sync of one replica does next, from the desired assignment and what the agent knows of its
 * container. Pure: the reconciler performs the action and syncs the key again when it is done.
 */

export interface DesiredReplica {
  templateHash: string;
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
  /** No container and not desired: drop the replica and report it gone. */
  | { type: 'forget' };

export function nextReplicaAction(desired: DesiredReplica | undefined, observed: ObservedReplica, nowMs: number): ReplicaAction {
  if (!desired) return observed.hasContainer ? { type: 'stop', forget: true } : { type: 'forget' };
  if (observed.hasContainer && observed.exited) return { type: 'record-exit' };
  if (observed.hasContainer) {
    // Replica names carry the template hash, so this only happens if a control plane reuses a name.
    const stale = observed.containerTemplateHash !== undefined && observed.containerTemplateHash !== desired.templateHash;
    return stale ? { type: 'stop', forget: false } : { type: 'none' };
  }
  if (observed.finished) return { type: 'none' };
  if (nowMs < observed.nextStartAt) return { type: 'wait', untilMs: observed.nextStartAt };
  return { type: 'start' };
}
