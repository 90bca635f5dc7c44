/** Builds the agent's StatusReport from its replica records. */
import { ReplicaStatus, StatusReport } from '@tide/proto';
import { ReplicaRecord } from './replica.record';

export function replicaStatus(record: ReplicaRecord): ReplicaStatus {
  const exit = record.lastExit;
  return {
    namespace: record.namespace,
    name: record.name,
    phase: record.phase,
    // No probes yet: a running container is ready.
    ready: record.phase === 'Running',
    restartCount: record.restartCount,
    message: record.message ?? '',
    pid: record.container && !record.container.exit ? record.container.pid : 0,
    startedAt: record.container ? record.container.startedAt.toISOString() : '',
    ...(exit ? { lastExit: { hasCode: exit.code !== null, code: exit.code ?? 0, signal: exit.signal ?? '', reason: exit.reason, finishedAt: exit.finishedAt } } : {}),
  };
}

export function statusReport(nodeName: string, records: Iterable<ReplicaRecord>, gone: Iterable<string>): StatusReport {
  return { nodeName, replicas: [...records].map(replicaStatus), gone: [...gone] };
}
