import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ObservedReplica, ReplicaAction, nextReplicaAction } from './replica.action';

const NOW = 1_000_000;
const nothing: ObservedReplica = { hasContainer: false, exited: false, finished: false, nextStartAt: 0 };
const alive: ObservedReplica = { ...nothing, hasContainer: true, containerTemplateHash: 'abc' };
const desired = { templateHash: 'abc' };

describe('next replica action', () => {
  const table: [string, boolean, ObservedReplica, ReplicaAction][] = [
    ['desired, no container → start', true, nothing, { type: 'start' }],
    ['desired, container alive (e.g. adopted) → nothing: no duplicate', true, alive, { type: 'none' }],
    ['desired, container exited → record the exit', true, { ...alive, exited: true }, { type: 'record-exit' }],
    ['desired, backoff until NOW+4000 → wait', true, { ...nothing, nextStartAt: NOW + 4000 }, { type: 'wait', untilMs: NOW + 4000 }],
    ['desired, backoff over → start', true, { ...nothing, nextStartAt: NOW }, { type: 'start' }],
    ['desired, finished (Never/OnFailure) → nothing', true, { ...nothing, finished: true }, { type: 'none' }],
    ['desired, container from another template → replace it', true, { ...alive, containerTemplateHash: 'old' }, { type: 'stop', forget: false }],
    ['not desired, container alive → stop and forget', false, alive, { type: 'stop', forget: true }],
    ['not desired, container exited → stop (no-op) and forget', false, { ...alive, exited: true }, { type: 'stop', forget: true }],
    ['not desired, no container → forget', false, nothing, { type: 'forget' }],
    ['desired, alive, a liveness probe failed → kill (the restart follows the policy)', true, { ...alive, unhealthy: true }, { type: 'kill' }],
    ['desired, exited after the kill → record the exit', true, { ...alive, unhealthy: true, exited: true }, { type: 'record-exit' }],
    ['not desired, alive, balancers still dropping it until NOW+800 → wait', false, { ...alive, drainUntil: NOW + 800 }, { type: 'wait', untilMs: NOW + 800 }],
    ['not desired, alive, drain over → stop and forget', false, { ...alive, drainUntil: NOW }, { type: 'stop', forget: true }],
    ['not desired, exited while draining → stop (no-op) and forget', false, { ...alive, exited: true, drainUntil: NOW + 800 }, { type: 'stop', forget: true }],
  ];
  for (const [title, isDesired, observed, expected] of table) {
    it(title, () => assert.deepEqual(nextReplicaAction(isDesired ? desired : undefined, observed, NOW), expected));
  }
});
