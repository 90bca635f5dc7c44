/**
 * The rolling update step of planService, as tables: each case's comment shows the surge and
 * unavailability arithmetic (surge rounded up, unavailability down, as Kubernetes).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaPhase, Service, UpdateStrategy } from '@tide/api';
import { newReplica, replacementFor } from './replica.factory';
import { planService } from './service.plan';

function service(replicas: number, image: string, update?: UpdateStrategy): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', generation: 1 }, spec: { replicas, image, ...(update ? { update } : {}) } };
}

const V1 = service(4, 'web:1');
let clock = 0;

/** A replica of `s`'s template; ready when Running (a passing readiness probe). Creation times increase. */
function replica(s: Service, phase: ReplicaPhase = 'Running', ready = phase === 'Running'): Replica {
  const r = newReplica(s);
  r.metadata.creationTimestamp = new Date(Date.UTC(2026, 0, 1) + ++clock * 1000).toISOString();
  if (phase !== 'Pending') r.spec.nodeName = 'n1';
  r.status = { phase, ready, restartCount: 0 };
  return r;
}

/** `old`'s rollout replacement on `s`'s template, in `phase`. */
function moving(s: Service, old: Replica, phase: ReplicaPhase = 'Starting'): Replica {
  const r = replacementFor(s, old, 'Update');
  r.metadata.creationTimestamp = new Date(Date.UTC(2026, 0, 2) + ++clock * 1000).toISOString();
  if (phase !== 'Pending') r.spec.nodeName = 'n2';
  r.status = { phase, ready: phase === 'Running', restartCount: 0 };
  return r;
}

const olds = (n: number, s = V1) => Array.from({ length: n }, () => replica(s));
const names = (replicas: Replica[]) => replicas.map((r) => r.metadata.name).sort();

interface Case {
  name: string;
  service: Service;
  replicas: Replica[];
  /** Fresh replicas, rollout replacements, terminated replicas (names, when given). */
  create: number;
  replace: number;
  terminate: number | Replica[];
  /** Old replicas the replacements stand in for, when it matters which. */
  replaced?: Replica[];
}

const o4 = olds(4);
const [a] = olds(1, service(2, 'web:1'));
const notReady = replica(service(2, 'web:1'), 'Running', false);
const v2pending = moving(service(4, 'web:2'), o4[0], 'Starting');
const v2ready = moving(service(4, 'web:2'), o4[0], 'Running');

const cases: Case[] = [
  // 4 wanted, defaults: surge ⌈25% × 4⌉ = 1, unavailable 0. 4 replicas < 4 + 1: one replacement; then 5 = 5 and
  // retiring a ready old one would leave 3 < 4 - 0 ready.
  { name: 'defaults: one replacement at a time, no old replica goes', service: service(4, 'web:2'), replicas: o4, create: 0, replace: 1, terminate: 0 },
  // surge 2, unavailable 1: two moves (4 → 6 replicas), then one old retired at once (4 ready → 3 ≥ 4 - 1), the fourth waits (3 - 1 < 3).
  { name: 'surge 2 and unavailable 1: two moves and one retirement', service: service(4, 'web:2', { maxSurge: 2, maxUnavailable: 1 }),
    replicas: o4, create: 0, replace: 3, terminate: 1 },
  // surge 0, unavailable ⌊25% × 4⌋ = 1: no room above 4, so one old replica is retired and replaced at once.
  { name: 'no surge: retire within maxUnavailable', service: service(4, 'web:2', { maxSurge: 0, maxUnavailable: '25%' }),
    replicas: o4, create: 0, replace: 1, terminate: 1 },
  // 50%/50%: surge ⌈2⌉ = 2 moves, unavailable ⌊2⌋ = 2 retirements (4 → 3 → 2 ready ≥ 4 - 2): all four at once.
  { name: 'half and half: everything in one step', service: service(4, 'web:2', { maxSurge: '50%', maxUnavailable: '50%' }),
    replicas: o4, create: 0, replace: 4, terminate: 2 },
  // 10 wanted: surge ⌈2.5⌉ = 3 moves.
  { name: 'surge rounds up', service: service(10, 'web:2'), replicas: olds(10), create: 0, replace: 3, terminate: 0 },
  // 3 wanted, both 25%: surge ⌈0.75⌉ = 1, unavailable ⌊0.75⌋ = 0.
  { name: 'unavailability rounds down', service: service(3, 'web:2', { maxUnavailable: '25%' }), replicas: olds(3), create: 0, replace: 1, terminate: 0 },
  // 1 wanted, surge 0 and ⌊25% × 1⌋ = 0: Kubernetes lets one go rather than never move.
  { name: 'both limits 0 once resolved: one may go', service: service(1, 'web:2', { maxSurge: 0, maxUnavailable: '25%' }),
    replicas: olds(1), create: 0, replace: 1, terminate: 1 },
  // A move in flight whose replacement is not ready (a broken template): 5 replicas = 4 + 1, nothing more, no old one goes.
  { name: 'a replacement that is not ready holds the rollout, old replicas keep serving', service: service(4, 'web:2'),
    replicas: [...o4, v2pending], create: 0, replace: 0, terminate: 0 },
  // Its replacement ready: the old one goes; 4 replicas again < 5: the next move starts in the same step.
  { name: 'a ready replacement retires its old replica and the next move starts', service: service(4, 'web:2'),
    replicas: [...o4, v2ready], create: 0, replace: 1, terminate: [o4[0]] },
  // 2 wanted, surge ⌈0.5⌉ = 1: the old replica that is not ready is replaced first (it costs no capacity).
  { name: 'an old replica that is not ready is replaced first', service: service(2, 'web:2'), replicas: [a, notReady],
    create: 0, replace: 1, terminate: 0, replaced: [notReady] },
  // a is moving (3 = 2 + 1 replicas): no surge left, but retiring notReady costs no ready replica (1 ready ≥ 2 - 0).
  { name: 'with the surge used, an old replica that is not ready is retired at once', service: service(2, 'web:2'),
    replicas: [a, notReady, moving(service(2, 'web:2'), a)], create: 0, replace: 1, terminate: [notReady], replaced: [notReady] },
  // Undo (the template is web:1 again): the web:2 replacement not yet ready is withdrawn; the old ones are current.
  { name: 'an undo withdraws the replacements of the abandoned template', service: V1, replicas: [...o4, v2pending],
    create: 0, replace: 0, terminate: [v2pending] },
  // web:3 over a stuck web:2: the web:2 replacement goes and o4[0] stands alone; 4 < 4 + 1: one web:3 replacement.
  { name: 'a newer template replaces an unfinished one', service: service(4, 'web:3'), replicas: [...o4, v2pending],
    create: 0, replace: 1, terminate: [v2pending] },
  // Scale-out to 6 mid-rollout: 4 units → 2 fresh replicas (new template); 5 + 2 = 7 < 6 + ⌈1.5⌉ = 8: one more move.
  { name: 'a scale-out during a rollout is honoured', service: service(6, 'web:2'), replicas: [...o4, v2pending], create: 2, replace: 1, terminate: 0 },
  // Scale-in to 2 mid-rollout: the unplaced move goes first (whole: its old one too), then the newest old one;
  // 2 replicas < 2 + ⌈0.5⌉ = 3: one move.
  { name: 'a scale-in during a rollout drops the move in flight first', service: service(2, 'web:2'),
    replicas: [...o4, moving(service(2, 'web:2'), o4[0], 'Pending')], create: 0, replace: 1, terminate: 3 },
  { name: 'nothing to do once every replica runs the template', service: V1, replicas: o4, create: 0, replace: 0, terminate: 0 },
];

describe('rolling update plan', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planService(c.service, c.replicas);
      assert.equal(plan.create.length, c.create, 'fresh replicas');
      assert.equal(plan.replace.length, c.replace, 'replacements');
      if (typeof c.terminate === 'number') assert.equal(plan.terminate.length, c.terminate, 'terminated');
      else assert.deepEqual(names(plan.terminate), names(c.terminate), 'terminated');
      assert.ok(plan.replace.every((r) => r.spec.replaces?.reason === 'Update' && r.spec.template.image === c.service.spec.image));
      if (c.replaced) assert.deepEqual(plan.replace.map((r) => r.spec.replaces!.replica).sort(), names(c.replaced));
    });
  }

  it('computes the same step again (a restarted control plane creates the same replacement names)', () => {
    const s = service(4, 'web:2');
    assert.deepEqual(names(planService(s, o4).replace), names(planService(s, structuredClone(o4)).replace));
  });
});
