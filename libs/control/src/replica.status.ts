/** Maps an agent's reported replica status onto the stored Replica status. */
import { Replica, ReplicaStatus, ReportedReplicaStatus } from '@tide/api';

/**
 * `readyChangedAt` moves only when `ready` does (or is set on the first report), so an unchanged
 * report still compares equal and writes nothing.
 */
export function reportedStatus(replica: Replica, reported: ReportedReplicaStatus, now: () => number = Date.now): ReplicaStatus {
  const previous = replica.status;
  const readyChangedAt = previous?.readyChangedAt !== undefined && previous.ready === reported.ready ? previous.readyChangedAt : new Date(now()).toISOString();
  return {
    // A replica being deleted stays Terminating whatever its container does meanwhile.
    phase: replica.metadata.deletionTimestamp ? 'Terminating' : reported.phase,
    ready: reported.ready,
    restartCount: reported.restartCount,
    ...(reported.lastExit ? { lastExit: { ...reported.lastExit } } : {}),
    ...(reported.message !== undefined ? { message: reported.message } : {}),
    ...(reported.pid !== undefined ? { pid: reported.pid } : {}),
    ...(reported.ip !== undefined ? { ip: reported.ip } : {}),
    ...(reported.startedAt !== undefined ? { startedAt: reported.startedAt } : {}),
    readyChangedAt,
  };
}
