/** The phase and readiness the agent reports for a replica, derived from what it knows about it. */
import { ReplicaPhase } from '@tide/api';

export interface PhaseFacts {
  /** The replica is in the desired set of this node. */
  desired: boolean;
  /** A start or stop of its container is in flight. */
  operation?: 'starting' | 'stopping';
  /** Its container's process is alive. */
  running: boolean;
  /** That process is frozen (the cgroup freezer). */
  paused?: boolean;
  /** Its container exited and the restart policy says it stays down. */
  finished?: 'succeeded' | 'failed';
  /** The last start attempt failed (e.g. ImageNotFound); it is retried after a backoff. */
  startFailed: boolean;
}

/** Terminating wins (the replica is going away whatever its container does), then what the container does. */
export function deriveReplicaPhase(facts: PhaseFacts): ReplicaPhase {
  if (!facts.desired || facts.operation === 'stopping') return 'Terminating';
  if (facts.running) return facts.paused ? 'Paused' : 'Running';
  if (facts.finished === 'succeeded') return 'Succeeded';
  if (facts.finished === 'failed') return 'Failed';
  if (facts.startFailed) return 'Failed';
  // Not started yet, starting, or waiting out a restart backoff.
  return 'Starting';
}

/**
 * A running replica is ready unless its probes say otherwise (none: ready once running), or it is
 * to be paused: it leaves the endpoints before it is frozen.
 */
export function isReady(phase: ReplicaPhase, probes?: { ready: boolean }, pausing = false): boolean {
  return phase === 'Running' && !pausing && (probes?.ready ?? true);
}
