import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReplicaPhase } from '@tide/api';
import { PhaseFacts, deriveReplicaPhase, isReady } from './replica.phase';

const base: PhaseFacts = { desired: true, running: false, startFailed: false };

describe('replica phase', () => {
  const table: [string, Partial<PhaseFacts>, ReplicaPhase][] = [
    ['desired, nothing started yet', {}, 'Starting'],
    ['start in flight', { operation: 'starting' }, 'Starting'],
    ['container alive', { running: true }, 'Running'],
    ['exited, waiting out the restart backoff', {}, 'Starting'],
    ['exited 0, not restarted', { finished: 'succeeded' }, 'Succeeded'],
    ['exited 1, not restarted', { finished: 'failed' }, 'Failed'],
    ['image missing, start retried later', { startFailed: true }, 'Failed'],
    ['no longer desired, container alive', { desired: false, running: true }, 'Terminating'],
    ['stop in flight', { operation: 'stopping', running: true }, 'Terminating'],
    ['no longer desired, already finished', { desired: false, finished: 'succeeded' }, 'Terminating'],
  ];
  for (const [title, facts, expected] of table) {
    it(`${title} → ${expected}`, () => assert.equal(deriveReplicaPhase({ ...base, ...facts }), expected));
  }

  it('is ready only when running, and then only if its probes say so', () => {
    assert.deepEqual((['Starting', 'Running', 'Failed', 'Terminating'] as ReplicaPhase[]).map((p) => isReady(p)), [false, true, false, false]);
    assert.equal(isReady('Running', { ready: false }), false);
    assert.equal(isReady('Running', { ready: true }), true);
    assert.equal(isReady('Terminating', { ready: true }), false);
  });
});
