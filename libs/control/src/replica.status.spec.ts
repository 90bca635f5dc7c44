import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaStatus, ReportedReplicaStatus, canonicalJson } from '@tide/api';
import { reportChangesNothing, reportedStatus } from './replica.status';

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

describe('reportChangesNothing', () => {
  const base = (status: Replica['status'], deleting = false): Replica => ({
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-1', namespace: 'default', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { service: 'web', templateHash: 'h', template: {} as Replica['spec']['template'], nodeName: 'n1' }, ...(status ? { status } : {}),
  });
  const same = (replica: Replica, reported: ReportedReplicaStatus) => canonicalJson(reportedStatus(replica, reported, () => 0)) === canonicalJson(replica.status ?? {});

  it('agrees with comparing the full status whenever it says nothing changes, over many combinations', () => {
    const phases = ['Starting', 'Running', 'Terminating'] as const;
    const pick = <T>(values: readonly T[], i: number): T => values[i % values.length];
    let nothing = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = (k: number) => Math.floor(i / k) % 7;
      const stored = {
        phase: pick(phases, r(1)), ready: r(3) % 2 === 0, restartCount: r(5) % 2,
        ...(r(7) % 3 ? { readyChangedAt: 'T' } : {}), ...(r(11) % 2 ? { startedAt: 'S' } : {}), ...(r(13) % 4 === 0 ? { pid: 7 } : {}),
        ...(r(17) % 5 === 0 ? { message: 'm' } : {}), ...(r(19) % 6 === 0 ? { unschedulable: { summary: 'x', nodes: {} } } : {}),
        ...(r(23) % 7 === 0 ? { lastExit: { code: 1, reason: 'Error' } } : {}),
      } as Replica['status'];
      const reported: ReportedReplicaStatus = {
        namespace: 'default', name: 'web-1', phase: pick(phases, r(29)), ready: r(31) % 2 === 0, restartCount: r(37) % 2,
        ...(r(41) % 2 ? { startedAt: 'S' } : {}), ...(r(43) % 4 === 0 ? { pid: 7 } : {}), ...(r(47) % 5 === 0 ? { message: 'm' } : {}),
      };
      const replica = base(stored, r(53) % 5 === 0);
      if (reportChangesNothing(replica, reported)) {
        nothing++;
        assert.ok(same(replica, reported), `${JSON.stringify(stored)} / ${JSON.stringify(reported)}`);
      }
    }
    assert.ok(nothing > 100, `the fast answer came ${nothing} times`);
  });

  it('says nothing changes for a report repeating the stored status, and not for a new phase or readiness', () => {
    const stored = { phase: 'Running' as const, ready: true, restartCount: 0, startedAt: 'S', readyChangedAt: 'T' };
    const reported: ReportedReplicaStatus = { namespace: 'default', name: 'web-1', phase: 'Running', ready: true, restartCount: 0, startedAt: 'S' };
    assert.equal(reportChangesNothing(base(stored), reported), true);
    assert.equal(reportChangesNothing(base(stored), { ...reported, ready: false }), false);
    assert.equal(reportChangesNothing(base({ ...stored, phase: 'Starting' }), reported), false);
    assert.equal(reportChangesNothing(base(stored), { ...reported, startedAt: 'S2' }), false);
  });
});

describe('reportedStatus: a replica lost with its node', () => {
  it('stays lost whatever its returning agent reports of the old copy', () => {
    const lost: ReplicaStatus = { phase: 'Failed', ready: false, restartCount: 0, message: 'node n1 lost',
      lastExit: { code: null, signal: null, reason: 'NodeLost', finishedAt: '2026-01-01T00:00:03.000Z' } };
    assert.deepEqual(reportedStatus(replica(lost), reported(true), at('2026-01-01T00:00:05.000Z')), lost);
    assert.equal(reportChangesNothing(replica(lost), reported(true)), true);
  });
});
