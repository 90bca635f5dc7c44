import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaStatus, ReportedReplicaStatus } from '@tide/api';
import { reportedStatus } from './replica.status';

function replica(status?: ReplicaStatus): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-1', namespace: 'default' },
    spec: { service: 'web', templateHash: 'h', template: {} as Replica['spec']['template'] }, ...(status ? { status } : {}),
  };
}

function reported(ready: boolean): ReportedReplicaStatus {
  return { namespace: 'default', name: 'web-1', phase: 'Running', ready, restartCount: 0, pid: 7, startedAt: '2026-01-01T00:00:00.000Z' };
}

const at = (iso: string) => () => Date.parse(iso);

describe('reportedStatus: readyChangedAt', () => {
  // [case, stored status, reported ready, expected readyChangedAt]
  const table: [string, ReplicaStatus | undefined, boolean, string][] = [
    ['set on the first report', undefined, false, '2026-01-01T00:00:05.000Z'],
    ['set when the stored status has none (written before the field existed)', { phase: 'Pending', ready: false, restartCount: 0 }, false, '2026-01-01T00:00:05.000Z'],
    ['kept while ready does not change', { phase: 'Running', ready: false, restartCount: 0, readyChangedAt: '2026-01-01T00:00:01.000Z' }, false, '2026-01-01T00:00:01.000Z'],
    ['moved when ready changes', { phase: 'Running', ready: false, restartCount: 0, readyChangedAt: '2026-01-01T00:00:01.000Z' }, true, '2026-01-01T00:00:05.000Z'],
  ];
  for (const [name, stored, ready, expected] of table) {
    it(name, () => {
      assert.equal(reportedStatus(replica(stored), reported(ready), at('2026-01-01T00:00:05.000Z')).readyChangedAt, expected);
    });
  }

  it('an unchanged report gives an equal status (nothing to write)', () => {
    const first = reportedStatus(replica(), reported(true), at('2026-01-01T00:00:05.000Z'));
    assert.deepEqual(reportedStatus(replica(first), reported(true), at('2026-01-01T00:00:09.000Z')), first);
  });
});

describe('reportedStatus: phase and fields', () => {
  it('takes what the agent reported, only the fields it gave', () => {
    const status = reportedStatus(replica(), { ...reported(true), ip: '100.64.1.5', message: 'ok' }, at('2026-01-01T00:00:05.000Z'));
    assert.deepEqual(status, { phase: 'Running', ready: true, restartCount: 0, pid: 7, ip: '100.64.1.5', message: 'ok',
      startedAt: '2026-01-01T00:00:00.000Z', readyChangedAt: '2026-01-01T00:00:05.000Z' });
  });

  it('a replica being deleted stays Terminating whatever its container does meanwhile', () => {
    const deleting = replica();
    deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00.000Z';
    assert.equal(reportedStatus(deleting, reported(true)).phase, 'Terminating');
  });
});
