/** Pausing a replica's container (the runtime's cgroup freezer) and what the agent reports meanwhile. */
import { ReplicaPhase } from '@tide/api';
import { ContainerRuntime } from '@tide/runtime';
import { ReplicaRecord } from './replica.record';

/**
 * Freezes or thaws the record's container. The flag is set on the container object itself, not on
 * a copy: the exit watcher knows the current container by identity.
 */
export async function setPaused(runtime: Pick<ContainerRuntime, 'pause' | 'unpause'>, record: ReplicaRecord, paused: boolean): Promise<void> {
  const container = record.container;
  if (!container) return;
  if (paused) await runtime.pause(container.id);
  else await runtime.unpause(container.id);
  container.paused = paused;
}

/** Why a replica asked to pause is not ready (its probes no longer count), or undefined. */
export function pauseMessage(phase: ReplicaPhase, pausing: boolean): string | undefined {
  if (phase === 'Paused') return pausing ? 'paused: its processes are frozen until it is unpaused' : 'unpausing';
  if (phase === 'Running' && pausing) return 'pausing: leaving the endpoints before its processes are frozen';
  return undefined;
}
