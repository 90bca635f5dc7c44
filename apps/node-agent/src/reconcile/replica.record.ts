/** The agent's memory of one replica: what it should run and what happened to its container. */
import { ContainerExit, ReplicaAssignment } from '@tide/api';
import { ContainerExitStatus, ContainerInfo } from '@tide/runtime';
import { replicaKey } from './container-spec.builder';

export interface ReplicaRecord {
  key: string;
  namespace: string;
  name: string;
  /** The latest desired assignment (kept when it stops being desired: its grace period is needed). */
  assignment?: ReplicaAssignment;
  /** The current container, alive or exited but not removed yet. */
  container?: ContainerInfo;
  /** The exit of the current container, once it happened. */
  exit?: ContainerExitStatus;
  operation?: 'starting' | 'stopping';
  restartCount: number;
  /** Exits and failed starts in a row; drives the backoff. */
  consecutiveFailures: number;
  /** As reported; reason Completed | Error | OOMKilled | Killed | Unknown | Unhealthy, or a start failure such as ImageNotFound. */
  lastExit?: ContainerExit;
  /** The restart policy said the replica stays down after its last exit. */
  finished?: 'succeeded' | 'failed';
  /** The last start attempt failed (e.g. ImageNotFound) and is retried after the backoff. */
  startFailed: boolean;
  /** Not before this time (ms since epoch) is a container started. */
  nextStartAt: number;
  /** Explains the current phase (backoff, failure). */
  message?: string;
  /** Why the current container is being restarted by the agent (a failed liveness or startup probe). */
  unhealthy?: string;
  /** The reason its exit is recorded with: Unhealthy (a probe), or EphemeralStorageExceeded (an eviction). */
  killReason?: string;
  /** When the replica left the desired set while its container ran (ms): its drain began. */
  undesiredSince?: number;
  /** When the desired set first asked for it paused (ms): it is frozen once its endpoints have drained. */
  pauseAskedAt?: number;
}

/** What survives an agent restart (the containers themselves are found again by the runtime). */
export type PersistedRecord = Pick<ReplicaRecord, 'restartCount' | 'consecutiveFailures' | 'lastExit' | 'finished'>;

export function newRecord(namespace: string, name: string, persisted?: PersistedRecord): ReplicaRecord {
  return {
    key: replicaKey(namespace, name), namespace, name,
    restartCount: 0, consecutiveFailures: 0, startFailed: false, nextStartAt: 0,
    ...(persisted ? pickPersisted(persisted) : {}),
  };
}

export function pickPersisted(record: PersistedRecord): PersistedRecord {
  return {
    restartCount: record.restartCount ?? 0,
    consecutiveFailures: record.consecutiveFailures ?? 0,
    ...(record.lastExit ? { lastExit: record.lastExit } : {}),
    ...(record.finished ? { finished: record.finished } : {}),
  };
}
