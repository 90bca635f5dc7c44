import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaPhase, Service } from '@tide/api';
import { newReplica, replacementFor } from './replica.factory';
import { planService, serviceStatus } from './service.plan';

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

  it('takes a scale-in from the node with the fewest of the service\'s replicas before the newest, so that nodes empty', () => {
    const s = service(2);
    const crowded = [replica(s, 'Running', { node: 'n1', created: '2026-01-01T00:00:00Z' }), replica(s, 'Running', { node: 'n1', created: '2026-01-03T00:00:00Z' })];
    const alone = replica(s, 'Running', { node: 'n2', created: '2026-01-02T00:00:00Z' });
    assert.deepEqual(planService(s, [...crowded, alone]).terminate.map((r) => r.metadata.name), [alone.metadata.name]);
    // Same node counts and the same age: the order is still the same at every pass (by node, then by name).
    const twins = [replica(s, 'Running', { node: 'n3' }), replica(s, 'Running', { node: 'n4' }), replica(s, 'Running', { node: 'n5' })];
    assert.deepEqual(planService(s, twins).terminate.map((r) => r.metadata.name), [twins[0].metadata.name]);
    assert.deepEqual(planService(s, [...twins].reverse()).terminate.map((r) => r.metadata.name), [twins[0].metadata.name]);
  });

  it('a scale-in of a node\'s worth empties one node instead of thinning every node that holds as many', () => {
    const s = service(2);
    // n1 and n2 hold two each; the newest are one on each node: by age alone, one would go from each.
    const live = [
      replica(s, 'Running', { node: 'n1', created: '2026-01-01T00:00:00Z' }), replica(s, 'Running', { node: 'n2', created: '2026-01-01T00:00:00Z' }),
      replica(s, 'Running', { node: 'n1', created: '2026-01-02T00:00:00Z' }), replica(s, 'Running', { node: 'n2', created: '2026-01-02T00:00:00Z' }),
    ];
    assert.deepEqual(planService(s, live).terminate.map((r) => r.spec.nodeName), ['n1', 'n1']);
  });

  it('replaces replicas lost with their node', () => {
    const s = service(2);
    const lost = replica(s, 'Failed', { lost: true });
    const plan = planService(s, [lost, replica(s, 'Running')]);
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.terminate.map((r) => r.metadata.name), [lost.metadata.name]);
  });

  it('rolls a template change surge first: no old replica goes before a new one is ready', () => {
    const before = service(2, 'busybox:1');
    const after = service(2, 'busybox:2');
    const olds = [replica(before, 'Running'), replica(before, 'Running')];
    // maxSurge 25% of 2 = 0.5, rounded up: 1 replacement at a time; maxUnavailable 0.
    const first = planService(after, olds);
    assert.deepEqual([first.create.length, first.replace.length, first.terminate.length], [0, 1, 0]);
    assert.equal(first.replace[0].spec.replaces?.reason, 'Update');
  });

  it('counts status from live replicas', () => {
    const s = service(3);
    const status = serviceStatus(s, [replica(s, 'Running'), replica(s, 'Pending'), replica(s, 'Failed', { lost: true })]);
    assert.deepEqual(status, { observedGeneration: 1, replicas: 2, readyReplicas: 1, runningReplicas: 1, pendingReplicas: 1 });
  });
});

/** A replacement of `old` (a drain's move), in the phase given; Running means ready (today's readiness). */
function replacement(s: Service, old: Replica, phase: ReplicaPhase, extra: { node?: string; created?: string; lost?: boolean } = {}): Replica {
  const r = replica(s, phase, { created: '2026-01-03T00:00:00Z', ...extra });
  r.metadata.name = replacementFor(s, old, 'Drain', old.spec.nodeName).metadata.name;
  r.spec.replaces = { replica: old.metadata.name, reason: 'Drain', fromNode: old.spec.nodeName };
  return r;
}

function terminating(r: Replica): Replica {
  return { ...r, metadata: { ...r.metadata, deletionTimestamp: '2026-01-04T00:00:00Z' } };
}

const names = (replicas: Replica[]) => replicas.map((r) => r.metadata.name).sort();

describe('planService with moves (spec.replaces)', () => {
  const s = service(2);
  const a = replica(s, 'Running', { node: 'n1', created: '2026-01-01T00:00:00Z' });
  const old = replica(s, 'Running', { node: 'n2', created: '2026-01-02T00:00:00Z' });
  const lostOld = replica(s, 'Failed', { node: 'n2', lost: true });
  const lostReplacement = replacement(s, old, 'Failed', { node: 'n3', lost: true });
  const duplicate = replacement(s, old, 'Pending', { created: '2026-01-05T00:00:00Z' });
  duplicate.metadata.name = 'web-dup';
  const cases: { name: string; desired?: number; replicas: Replica[]; create: number; terminate: Replica[]; completed?: number }[] = [
    // 2 wanted; units: a, (old + pending replacement) = 2: the surge replica is not excess.
    { name: 'a pending replacement is not excess', replicas: [a, old, replacement(s, old, 'Pending')], create: 0, terminate: [] },
    { name: 'the old replica stays while its replacement starts',
      replicas: [a, old, replacement(s, old, 'Starting', { node: 'n3' })], create: 0, terminate: [] },
    { name: 'a ready replacement retires the old one', replicas: [a, old, replacement(s, old, 'Running', { node: 'n3' })],
      create: 0, terminate: [old], completed: 1 },
    // Scale-in to 1 mid-move: units a (ready) and the move (ranked by its pending replacement) → the move goes, whole.
    { name: 'a scale-in drops the move first', desired: 1, replicas: [a, old, replacement(s, old, 'Pending')], create: 0,
      terminate: [old, replacement(s, old, 'Pending')] },
    // Scale-out to 3 mid-move: 2 units → 1 more.
    { name: 'a scale-out counts the move once', desired: 3, replicas: [a, old, replacement(s, old, 'Pending')], create: 1, terminate: [] },
    { name: 'once the old replica is terminating the replacement counts alone',
      replicas: [a, terminating(old), replacement(s, old, 'Starting', { node: 'n3' })], create: 0, terminate: [] },
    { name: 'an old replica lost with its node is replaced by its replacement',
      replicas: [a, lostOld, replacement(s, lostOld, 'Starting', { node: 'n3' })], create: 0, terminate: [lostOld] },
    { name: 'a replacement lost with its node leaves the old one counted',
      replicas: [a, old, lostReplacement], create: 0, terminate: [lostReplacement] },
    // Two replacements for one replica (never made by one control plane): the newer counts alone and is the surplus.
    { name: 'a second replacement of the same replica is undone',
      replicas: [a, old, replacement(s, old, 'Pending'), duplicate], create: 0, terminate: [duplicate] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planService(service(c.desired ?? 2), c.replicas);
      assert.equal(plan.create.length, c.create, 'created');
      assert.deepEqual(names(plan.terminate), names(c.terminate), 'terminated');
      assert.equal(plan.completed.length, c.completed ?? 0, 'completed moves');
    });
  }

  it('is the same plan when computed again (a restarted control plane carries on)', () => {
    const replicas = [a, old, replacement(s, old, 'Running', { node: 'n3' })];
    const first = planService(s, replicas);
    const second = planService(s, structuredClone(replicas));
    assert.deepEqual(names(first.terminate), names(second.terminate));
    // After the old one was marked terminating, nothing more happens.
    assert.deepEqual(planService(s, [a, terminating(old), replacement(s, old, 'Running', { node: 'n3' })]).terminate, []);
  });

  it('a replacement on the new template counts as a current replica (a rolling update reuses moves)', () => {
    const before = service(2, 'busybox:1');
    const after = service(2, 'busybox:2');
    const olds = [replica(before, 'Running', { node: 'n1' }), replica(before, 'Running', { node: 'n2' })];
    const plan = planService(after, [...olds, replacement(after, olds[1], 'Pending')]);
    // Units: olds[0] (outdated) and the move (current by its replacement). 3 replicas = 2 + maxSurge 1:
    // no new replica, no second replacement, nobody leaves yet.
    assert.deepEqual([plan.create.length, plan.replace.length, plan.terminate.length], [0, 0, 0]);
  });

  it('counts a move as one replica in the service status', () => {
    const status = serviceStatus(s, [a, old, replacement(s, old, 'Running', { node: 'n3' })]);
    assert.equal(status.replicas, 2);
    assert.equal(status.readyReplicas, 2);
  });

  it('derives the replacement name from the old replica, so a second attempt collides', () => {
    assert.equal(replacementFor(s, old, 'Drain').metadata.name, replacementFor(s, old, 'Consolidation').metadata.name);
    assert.notEqual(replacementFor(s, old, 'Drain').metadata.name, replacementFor(s, a, 'Drain').metadata.name);
    assert.match(replacementFor(s, old, 'Drain').metadata.name, /^web-[0-9a-f]{5}-[a-z0-9]{5}$/);
  });
});
