/** What each store failure answers over HTTP, and readiness from etcd's health. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ConflictError, GRPCDeadlineExceededError, GRPCUnavailableError, ObjectTooLargeError, StoreNoSpaceError, StoreUnavailableError,
} from '@tide/store';
import { storeErrorAnswer } from './store.errors.filter';
import { readinessOf } from './health.controller';

describe('store errors over HTTP', () => {
  it('maps conflicts, sizes and NOSPACE to 409, 413 and 507', () => {
    assert.equal(storeErrorAnswer(new ConflictError('stale'), 'POST')?.status, 409);
    assert.equal(storeErrorAnswer(new ObjectTooLargeError('big'), 'POST')?.status, 413);
    const full = storeErrorAnswer(new Error('etcdserver: mvcc: database space exceeded'), 'POST');
    assert.equal(full?.status, 507);
    assert.match(full!.error, /NOSPACE/);
    assert.equal(storeErrorAnswer(new StoreNoSpaceError('full'), 'DELETE')?.status, 507);
  });

  it('says whether a write may still apply: 503 when nothing was sent, 504 when etcd did not answer', () => {
    const unsent = storeErrorAnswer(new StoreUnavailableError('etcd unavailable: down; nothing was sent', 'not-applied'), 'POST');
    assert.deepEqual(unsent && { status: unsent.status, retryAfter: unsent.retryAfter }, { status: 503, retryAfter: 2 });
    assert.match(unsent!.error, /nothing was written/);
    const late = storeErrorAnswer(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED'), 'PUT');
    assert.equal(late?.status, 504);
    assert.match(late!.error, /may still be applied; read the object before trying again/);
    // A read that got no answer wrote nothing: a plain 503.
    assert.equal(storeErrorAnswer(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED'), 'GET')?.status, 503);
    assert.equal(storeErrorAnswer(new GRPCUnavailableError('14 UNAVAILABLE: No connection established'), 'POST')?.status, 503);
  });

  it('leaves other errors to NestJS', () => {
    assert.equal(storeErrorAnswer(new Error('something else'), 'GET'), undefined);
  });
});

describe('readiness', () => {
  const state = { reachable: true, leader: true, alarms: [] as string[], checkedAt: 1 };
  it('is ready with a reachable etcd that has a leader, and says NOSPACE while staying ready', () => {
    assert.deepEqual(readinessOf(state, false), { ready: true, etcd: { reachable: true, leader: true, alarms: [] }, leader: false });
    const full = readinessOf({ ...state, alarms: ['NOSPACE'] }, true);
    assert.equal(full.ready, true);
    assert.match(full.reason!, /NOSPACE.*507/);
  });

  it('is not ready without etcd or without an etcd leader, with the reason', () => {
    assert.deepEqual(readinessOf({ ...state, reachable: false, reason: 'etcd unreachable: connect ECONNREFUSED' }, true),
      { ready: false, reason: 'etcd unreachable: connect ECONNREFUSED', etcd: { reachable: false, leader: true, alarms: [] }, leader: true });
    assert.equal(readinessOf({ ...state, leader: false, reason: 'etcd has no leader' }, true).ready, false);
  });
});
