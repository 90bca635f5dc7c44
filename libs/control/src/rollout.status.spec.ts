import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service, ServiceStatus } from '@tide/api';
import { newReplica } from './replica.factory';
import { REASON_COMPLETE, REASON_STUCK, REASON_UPDATING, progressingCondition, whyWaiting } from './rollout.status';
import { RolloutCounts } from './service.plan';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function service(replicas = 2, generation = 1): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', generation },
    spec: { replicas, image: 'busybox', update: { progressDeadlineSeconds: 60 } } };
}

function counts(updated: number, updatedReady: number, old: number, waitingOn: Replica[] = []): RolloutCounts {
  return { updated, updatedReady, old, total: updated + old, waitingOn };
}

/** The status a pass stores: what the next pass reads as `previous`. */
function stored(s: Service, hash: string, c: RolloutCounts, condition: ServiceStatus['conditions']): ServiceStatus {
  return { replicas: c.total, readyReplicas: 0, runningReplicas: 0, pendingReplicas: 0, observedGeneration: s.metadata.generation,
    templateHash: hash, updatedReplicas: c.updated, updatedReadyReplicas: c.updatedReady, oldReplicas: c.old, conditions: condition };
}

describe('progressingCondition', () => {
  it('a new template starts a rollout (ReplicasUpdating)', () => {
    const s = service();
    const { condition, event } = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: counts(0, 0, 2), previous: undefined, now: at(0) });
    assert.equal(condition.status, 'True');
    assert.equal(condition.reason, REASON_UPDATING);
    assert.equal(condition.message, 'revision 2: 0 of 2 updated, 0 ready, 2 old replica(s) left');
    assert.equal(event, undefined);
  });

  it('all updated and ready, nothing old: NewReplicasAvailable with a RolledOut event, once', () => {
    const s = service();
    const done = counts(2, 2, 0);
    const first = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: done, previous: undefined, now: at(10) });
    assert.equal(first.condition.reason, REASON_COMPLETE);
    assert.deepEqual(first.event, { type: 'Normal', reason: 'RolledOut', message: 'revision 2 rolled out: 2 of 2 replica(s) updated and ready' });
    const again = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: done, previous: stored(s, 'h2', done, [first.condition]), now: at(20) });
    assert.deepEqual(again.condition, first.condition);
    assert.equal(again.event, undefined);
  });

  it('a replica failing after the rollout finished does not reopen it', () => {
    const s = service();
    const done = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: counts(2, 2, 0), previous: undefined, now: at(0) }).condition;
    const after = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: counts(2, 1, 0), previous: stored(s, 'h2', counts(2, 2, 0), [done]), now: at(300) });
    assert.deepEqual(after.condition, done);
  });

  it('progress moves lastUpdateTime; without progress the deadline runs from the last step', () => {
    const s = service();
    const start = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: counts(1, 0, 2), previous: undefined, now: at(0) }).condition;
    const stepped = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: counts(1, 1, 2), previous: stored(s, 'h2', counts(1, 0, 2), [start]), now: at(30) }).condition;
    assert.equal(stepped.lastUpdateTime, at(30).toISOString(), 'one more ready replica is progress');
    const waiting = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: counts(1, 1, 2), previous: stored(s, 'h2', counts(1, 1, 2), [stepped]), now: at(89) });
    assert.equal(waiting.condition.reason, REASON_UPDATING);
    assert.equal(waiting.condition.lastUpdateTime, at(30).toISOString(), '59 s without progress: still within the 60 s deadline');
    assert.equal(waiting.condition.lastTransitionTime, start.lastTransitionTime);
  });

  it('no progress for progressDeadlineSeconds: False/ProgressDeadlineExceeded, naming the replica it waits on', () => {
    const s = service();
    const stuckReplica = newReplica(s);
    stuckReplica.status = { phase: 'Running', ready: false, restartCount: 0, message: 'readiness probe failed: HTTP 500' };
    const c = counts(1, 0, 2, [stuckReplica]);
    const start = progressingCondition({ service: s, hash: 'h2', revision: 3, counts: c, previous: undefined, now: at(0) }).condition;
    const { condition, event } = progressingCondition({ service: s, hash: 'h2', revision: 3, counts: c, previous: stored(s, 'h2', c, [start]), now: at(60) });
    assert.equal(condition.status, 'False');
    assert.equal(condition.reason, REASON_STUCK);
    assert.equal(condition.lastUpdateTime, at(0).toISOString());
    assert.equal(condition.lastTransitionTime, at(60).toISOString());
    assert.equal(condition.message, 'revision 3 made no progress for 60s (1 of 2 updated, 0 ready, 2 old replica(s) still serving): '
      + `replica ${stuckReplica.metadata.name} not ready: readiness probe failed: HTTP 500`);
    assert.equal(event?.type, 'Warning');
    const later = progressingCondition({ service: s, hash: 'h2', revision: 3, counts: c, previous: stored(s, 'h2', c, [condition]), now: at(120) });
    assert.deepEqual(later.condition, condition, 'stuck is reported once and kept');
    assert.equal(later.event, undefined);
  });

  it('a new generation (a scale) restarts the rollout\'s clock', () => {
    const s = service(2, 1);
    const c = counts(1, 0, 2);
    const stuck = progressingCondition({ service: s, hash: 'h2', revision: 2, counts: c, previous: stored(s, 'h2', c, [
      { type: 'Progressing', status: 'False', reason: REASON_STUCK, message: '', lastUpdateTime: at(0).toISOString(), lastTransitionTime: at(60).toISOString() },
    ]), now: at(100) });
    assert.equal(stuck.condition.reason, REASON_STUCK);
    const scaled = progressingCondition({ service: service(3, 2), hash: 'h2', revision: 2, counts: c, previous: stored(s, 'h2', c, [stuck.condition]), now: at(100) });
    assert.equal(scaled.condition.reason, REASON_UPDATING);
    assert.equal(scaled.condition.status, 'True');
    assert.equal(scaled.condition.lastUpdateTime, at(100).toISOString());
  });
});

describe('whyWaiting', () => {
  it('prefers a replica with something said about it; with none waiting, it is the lack of room', () => {
    const s = service();
    const quiet = newReplica(s);
    quiet.status = { phase: 'Starting', ready: false, restartCount: 0 };
    const told = newReplica(s);
    told.status = { phase: 'Pending', ready: false, restartCount: 0, unschedulable: { summary: '0/3 nodes available: 3 insufficient memory', nodes: {} } };
    assert.equal(whyWaiting(counts(2, 0, 2, [quiet, told])), `replica ${told.metadata.name} not ready: 0/3 nodes available: 3 insufficient memory`);
    assert.equal(whyWaiting(counts(2, 0, 2, [quiet])), `replica ${quiet.metadata.name} not ready: phase Starting`);
    assert.match(whyWaiting(counts(0, 0, 2)), /^no room for a replacement/);
  });
});
