/** The agent's StatusReport, built from what the reconciler knows of each replica. */
import { ReplicaStatus, StatusReport } from '@tide/proto';
import { ReplicaView } from '../reconcile/reconciler';

export function replicaStatus({ record, phase, ready, message }: ReplicaView): ReplicaStatus {
  const exit = record.lastExit;
  const alive = record.container && !record.exit ? record.container : undefined;
  return {
    namespace: record.namespace,
    name: record.name,
    phase,
    ready,
    restartCount: record.restartCount,
    message: message ?? record.message ?? '',
    pid: alive?.pid ?? 0,
    ip: alive?.ip ?? '',
    startedAt: alive ? alive.startedAt.toISOString() : '',
    ...(exit
      ? { lastExit: { hasCode: exit.code !== null, code: exit.code ?? 0, signal: exit.signal ?? '', reason: exit.reason, finishedAt: exit.finishedAt } }
      : {}),
  };
}

export function statusReport(nodeName: string, views: ReplicaView[], gone: string[]): StatusReport {
  return { nodeName, replicas: views.map(replicaStatus), gone };
}
