/** Maps an agent's reported replica status onto the stored Replica status. */
import { ReplicaPhase, Replica, ReplicaStatus } from '@tide/api';
import { ReplicaStatus__Output } from '@tide/proto';

const PHASES: ReplicaPhase[] = ['Pending', 'Scheduled', 'Starting', 'Running', 'Terminating', 'Succeeded', 'Failed'];

/**
 * `readyChangedAt` moves only when `ready` does (or is set on the first report), so an unchanged
 * report still compares equal and writes nothing.
 */
export function reportedStatus(replica: Replica, reported: ReplicaStatus__Output, now: () => number = Date.now): ReplicaStatus {
  const previous = replica.status;
  const readyChangedAt = previous?.readyChangedAt !== undefined && previous.ready === reported.ready ? previous.readyChangedAt : new Date(now()).toISOString();
  const phase = PHASES.includes(reported.phase as ReplicaPhase) ? (reported.phase as ReplicaPhase) : 'Starting';
  const exit = reported.lastExit;
  return {
    // A replica being deleted stays Terminating whatever its container does meanwhile.
    phase: replica.metadata.deletionTimestamp ? 'Terminating' : phase,
    ready: reported.ready,
    restartCount: reported.restartCount,
    ...(exit && exit.reason ? { lastExit: { code: exit.hasCode ? exit.code : null, signal: exit.signal || null, reason: exit.reason, finishedAt: exit.finishedAt } } : {}),
    ...(reported.message ? { message: reported.message } : {}),
    ...(reported.pid ? { pid: reported.pid } : {}),
    ...(reported.ip ? { ip: reported.ip } : {}),
    ...(reported.startedAt ? { startedAt: reported.startedAt } : {}),
    readyChangedAt,
  };
}
