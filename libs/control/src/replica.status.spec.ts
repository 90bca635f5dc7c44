import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReportedReplicaStatus, Service } from '@tide/api';
import { newReplica } from './replica.factory';
import { reportedStatus } from './replica.status';

const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, image: 'busybox' } };

describe('reportedStatus', () => {
  it('takes what the agent reported, only the fields it gave', () => {
    const reported: ReportedReplicaStatus = { namespace: 'default', name: 'web-1', phase: 'Running', ready: true, restartCount: 2, pid: 42, ip: '100.64.1.5', startedAt: '2026-01-01T00:00:00Z' };
    assert.deepEqual(reportedStatus(newReplica(service), reported), { phase: 'Running', ready: true, restartCount: 2, pid: 42, ip: '100.64.1.5', startedAt: '2026-01-01T00:00:00Z' });
  });

  it('keeps the last exit and the message', () => {
    const lastExit = { code: 137, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: '2026-01-01T00:00:00Z' };
    const status = reportedStatus(newReplica(service), { namespace: 'default', name: 'web-1', phase: 'Starting', ready: false, restartCount: 1, lastExit, message: 'back-off 2s' });
    assert.deepEqual(status, { phase: 'Starting', ready: false, restartCount: 1, lastExit, message: 'back-off 2s' });
  });

  it('a replica being deleted stays Terminating whatever its container does meanwhile', () => {
    const replica = newReplica(service);
    replica.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    assert.equal(reportedStatus(replica, { namespace: 'default', name: 'web-1', phase: 'Running', ready: true, restartCount: 0 }).phase, 'Terminating');
  });
});
