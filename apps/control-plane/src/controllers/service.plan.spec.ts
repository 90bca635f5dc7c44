import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaPhase, Service } from '@tide/api';
import { newReplica, planService, serviceStatus } from './service.plan';

function service(replicas: number, image = 'busybox'): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', generation: 1 }, spec: { replicas, image } };
}

function replica(s: Service, phase: ReplicaPhase, extra: { node?: string; created?: string; lost?: boolean } = {}): Replica {
  const r = newReplica(s);
  r.metadata.creationTimestamp = extra.created ?? '2026-01-01T00:00:00Z';
  if (extra.node || phase !== 'Pending') r.spec.nodeName = extra.node ?? 'n1';
  r.status = { phase, ready: phase === 'Running', restartCount: 0,
    ...(extra.lost ? { lastExit: { code: null, signal: null, reason: 'NodeLost', finishedAt: '' } } : {}) };
  return r;
}

describe('planService', () => {
  it('creates the missing replicas', () => {
    const s = service(3);
    const plan = planService(s, [replica(s, 'Running')]);
    assert.equal(plan.create.length, 2);
    assert.equal(plan.terminate.length, 0);
    assert.ok(plan.create.every((r) => r.status?.phase === 'Pending' && r.metadata.name.startsWith('web-')));
  });

  it('terminates the surplus: unscheduled first, then not ready, then the newest', () => {
    const s = service(1);
    const old = replica(s, 'Running', { created: '2026-01-01T00:00:00Z' });
    const newer = replica(s, 'Running', { created: '2026-01-02T00:00:00Z' });
    const starting = replica(s, 'Starting');
    const pending = replica(s, 'Pending');
    const plan = planService(s, [old, newer, starting, pending]);
    assert.deepEqual(plan.terminate.map((r) => r.metadata.name), [pending, starting, newer].map((r) => r.metadata.name));
  });

  it('replaces replicas lost with their node', () => {
    const s = service(2);
    const lost = replica(s, 'Failed', { lost: true });
    const plan = planService(s, [lost, replica(s, 'Running')]);
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.terminate.map((r) => r.metadata.name), [lost.metadata.name]);
  });

  it('rolls a template change: new replicas first, old ones leave as new ones run', () => {
    const before = service(2, 'busybox:1');
    const after = service(2, 'busybox:2');
    const olds = [replica(before, 'Running'), replica(before, 'Running')];
    const first = planService(after, olds);
    assert.equal(first.create.length, 2);
    assert.equal(first.terminate.length, 0, 'no old replica goes before a new one runs');
    const oneNewRunning = [...olds, replica(after, 'Running'), replica(after, 'Starting')];
    assert.equal(planService(after, oneNewRunning).terminate.length, 1);
  });

  it('counts status from live replicas', () => {
    const s = service(3);
    const status = serviceStatus(s, [replica(s, 'Running'), replica(s, 'Pending'), replica(s, 'Failed', { lost: true })]);
    assert.deepEqual(status, { observedGeneration: 1, replicas: 2, readyReplicas: 1, runningReplicas: 1, pendingReplicas: 1 });
  });
});
