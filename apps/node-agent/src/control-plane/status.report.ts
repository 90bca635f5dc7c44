/** The agent's status report, built from what the reconciler knows of each replica. */
import { NodeStatusReport, ReportedReplicaStatus } from '@tide/api';
import { ReplicaView } from '../reconcile/reconciler';

export function replicaStatus({ record, phase, ready, message }: ReplicaView): ReportedReplicaStatus {
  const alive = record.container && !record.exit ? record.container : undefined;
  const why = message ?? record.message;
  return {
    namespace: record.namespace,
    name: record.name,
    phase,
    ready,
    restartCount: record.restartCount,
    ...(why ? { message: why } : {}),
    ...(alive ? { pid: alive.pid, startedAt: alive.startedAt.toISOString(), ...(alive.ip ? { ip: alive.ip } : {}) } : {}),
    ...(record.lastExit ? { lastExit: { ...record.lastExit } } : {}),
  };
}

export function statusReport(nodeName: string, views: ReplicaView[], gone: string[]): NodeStatusReport {
  return { nodeName, replicas: views.map(replicaStatus), gone };
}
