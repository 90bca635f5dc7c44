/** Maps an agent's reported replica status onto the stored Replica status. */
import { Replica, ReplicaStatus, ReportedReplicaStatus } from '@tide/api';
import { isLost } from './replica.predicates';

/**
 * `readyChangedAt` moves only when `ready` does (or is set on the first report), so an unchanged
 * report still compares equal and writes nothing.
 */
export function reportedStatus(replica: Replica, reported: ReportedReplicaStatus, now: () => number = Date.now): ReplicaStatus {
  const previous = replica.status;
  // Lost with its node, it is being replaced: a returning agent's report of its old copy (sent
  // before that agent hears its new desired set, which stops the copy) does not bring it back.
  if (previous && isLost(replica)) return previous;
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

const OPTIONAL = ['message', 'pid', 'ip', 'startedAt'] as const;

/**
 * True when applying the report would leave the stored status exactly as it is (reportedStatus
 * would give an equal status), decided without building it: most reports repeat what is stored
 * (an agent reports every replica it runs). False whenever it cannot tell at a glance (a last
 * exit, a field reportedStatus does not write): the caller then compares the full status.
 */
export function reportChangesNothing(replica: Replica, reported: ReportedReplicaStatus): boolean {
  const stored = replica.status;
  if (stored && isLost(replica)) return true;
  if (!stored || stored.readyChangedAt === undefined || stored.lastExit !== undefined || reported.lastExit !== undefined) return false;
  if (stored.ready !== reported.ready || stored.restartCount !== reported.restartCount) return false;
  if (stored.phase !== (replica.metadata.deletionTimestamp ? 'Terminating' : reported.phase)) return false;
  let fields = 4; // phase, ready, restartCount, readyChangedAt
  for (const field of OPTIONAL) {
    if (stored[field] !== reported[field]) return false;
    if (reported[field] !== undefined) fields++;
  }
  return Object.keys(stored).length === fields;
}
