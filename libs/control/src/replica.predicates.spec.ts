import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaPhase, Service } from '@tide/api';
import { newReplica } from './replica.factory';
import { holdsResources, isLost, isTerminating } from './replica.predicates';

const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 1, image: 'busybox' } };

function replica(phase: ReplicaPhase, extra: { node?: string; deleting?: boolean; exitReason?: string } = {}): Replica {
  const r = newReplica(service);
  if (extra.node) r.spec.nodeName = extra.node;
  if (extra.deleting) r.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  r.status = { phase, ready: phase === 'Running', restartCount: 0,
    ...(extra.exitReason ? { lastExit: { code: null, signal: null, reason: extra.exitReason, finishedAt: '' } } : {}) };
  return r;
}

describe('replica predicates', () => {
  it('isTerminating: marked for deletion, whatever its phase', () => {
    assert.equal(isTerminating(replica('Running', { node: 'n1', deleting: true })), true);
    assert.equal(isTerminating(replica('Pending', { deleting: true })), true);
    assert.equal(isTerminating(replica('Running', { node: 'n1' })), false);
  });

  it('isLost: Failed with reason NodeLost or Evicted only (other failures are the restart policy\'s)', () => {
    assert.equal(isLost(replica('Failed', { node: 'n1', exitReason: 'NodeLost' })), true);
    assert.equal(isLost(replica('Failed', { node: 'n1', exitReason: 'Evicted' })), true, 'an emptyDir over its sizeLimit');
    assert.equal(isLost(replica('Failed', { node: 'n1', exitReason: 'EphemeralStorageExceeded' })), false, 'restarted in place as its policy says');
    assert.equal(isLost(replica('Failed', { node: 'n1', exitReason: 'Error' })), false);
    assert.equal(isLost(replica('Running', { node: 'n1', exitReason: 'NodeLost' })), false, 'restarted since');
  });

  it('holdsResources: bound and not finished', () => {
    const table: [ReplicaPhase, string | undefined, boolean][] = [
      ['Pending', undefined, false],
      ['Scheduled', 'n1', true],
      ['Starting', 'n1', true],
      ['Running', 'n1', true],
      ['Terminating', 'n1', true], // still running its grace period
      ['Succeeded', 'n1', false],
      ['Failed', 'n1', false],
    ];
    for (const [phase, node, holds] of table) assert.equal(holdsResources(replica(phase, { node })), holds, `${phase} on ${node}`);
  });
});
