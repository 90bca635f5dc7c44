import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { newRecord } from '../reconcile/replica.record';
import { replicaStatus, statusReport } from './status.report';

describe('status report', () => {
  it('reports a running replica with its pid and start time', () => {
    const record = newRecord('default', 'web-1');
    const startedAt = new Date('2026-01-01T00:00:00Z');
    record.container = { id: 'default.web-1', pid: 42, startedAt, logPath: '/l', spec: {} as never };
    assert.deepEqual(replicaStatus({ record, phase: 'Running', ready: true }), {
      namespace: 'default', name: 'web-1', phase: 'Running', ready: true, restartCount: 0, pid: 42, startedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('reports the address of a running bridge replica, none once it exited', () => {
    const record = newRecord('default', 'web-1');
    record.container = { id: 'default.web-1', pid: 42, startedAt: new Date(), logPath: '/l', spec: {} as never, ip: '100.64.3.7' };
    assert.equal(replicaStatus({ record, phase: 'Running', ready: true }).ip, '100.64.3.7');
    record.exit = { code: 0, signal: null, oomKilled: false, finishedAt: new Date() };
    assert.equal(replicaStatus({ record, phase: 'Succeeded', ready: false }).ip, undefined);
  });

  it('reports the last exit: a signal has no code', () => {
    const record = newRecord('default', 'web-1');
    record.restartCount = 2;
    record.lastExit = { code: null, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: '2026-01-01T00:00:00.000Z' };
    record.message = 'back-off 2 s';
    const status = replicaStatus({ record, phase: 'Starting', ready: false });
    assert.deepEqual(status.lastExit, { code: null, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: '2026-01-01T00:00:00.000Z' });
    assert.equal(status.message, 'back-off 2 s');
    assert.equal(status.pid, undefined);
    assert.equal(status.restartCount, 2);
  });

  it('carries the gone replicas', () => {
    assert.deepEqual(statusReport('node-1', [], ['default/a']), { nodeName: 'node-1', replicas: [], gone: ['default/a'] });
  });
});
