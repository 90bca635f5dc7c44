import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AutoscaleSpec } from '@tide/api';
import { Decision, ServiceAutoscaler } from './autoscaler';
import { decisionText } from './decision.text';
import { resolvePolicy } from './policy';
import { MetricReading } from './recommendation';

/** Each replica requests 0.1 cores; the target is 50% of it, so one replica is "at target" at 0.05 cores. */
const REQUEST = 0.1;
const BASE: AutoscaleSpec = { minReplicas: 1, maxReplicas: 20, targetCPUUtilizationPercentage: 50 };

/** A service whose total load is `cores`, spread over every current replica. */
function reading(atMs: number, replicas: number, cores: number): MetricReading {
  return { atMs, cpu: { replicas, usedCores: cores, requestedCores: replicas * REQUEST } };
}

/** Runs one reading a second from `fromS` to `toS` (inclusive), applying each decision like the controller. */
function run(scaler: ServiceAutoscaler, spec: AutoscaleSpec, state: { replicas: number }, fromS: number, toS: number, load: (s: number) => number): Decision[] {
  const policy = resolvePolicy(spec);
  const decisions: Decision[] = [];
  for (let s = fromS; s <= toS; s++) {
    const decision = scaler.observe(policy, reading(s * 1000, state.replicas, load(s)), state.replicas);
    if (!decision) continue;
    decisions.push(decision);
    state.replicas = decision.desired;
  }
  return decisions;
}

describe('ServiceAutoscaler (tide policy)', () => {
  it('scales up at once when the load is moderately above target (no panic), within the step limits', () => {
    const state = { replicas: 4 };
    const scaler = new ServiceAutoscaler(0, 4);
    // 4 replicas at target use 0.2 cores; 0.3 cores is ratio 1.5 → ceil(4 × 1.5) = 6, allowed (up to 8 per 15 s).
    const [first] = run(scaler, BASE, state, 0, 0, () => 0.3);
    assert.equal(first.desired, 6);
    assert.equal(first.reason, 'ScaleUp');
    assert.equal(first.panicUntilMs, undefined);
  });

  it('panics on a 10× step: straight to the need, past the step limits, never down while panicking', () => {
    const state = { replicas: 2 };
    const scaler = new ServiceAutoscaler(0, 2);
    const spec = { ...BASE, behavior: { scaleDown: { stabilizationWindowSeconds: 20 } } };
    run(scaler, spec, state, 0, 9, () => 0.1); // 2 replicas at target
    // Step to 1.0 cores at 10 s: ratio 10 on 2 replicas → ceil(2 × 10) = 20; the step limits would allow max(4, 6) = 6.
    const [panic] = run(scaler, spec, state, 10, 10, () => 1.0);
    assert.equal(panic.reason, 'Panic');
    assert.equal(panic.desired, 20);
    assert.equal(panic.panicUntilMs, 16_000, '6 s panic window from the reading');
    assert.match(decisionText(panic, 2), /2 → 20 replicas \(Panic\); cpu 500% of the request over 2 replica\(s\) \(target 50%\) → 20; panic until/);
    // The load drops back at 11 s: no scale-down while panicking (until 16 s), then the 20 s down window.
    const after = run(scaler, spec, state, 11, 30, () => 0.1);
    assert.ok(after.every((d) => d.desired === 20), 'held at 20 through the panic and the down window');
    // The last high recommendation (20) was at 15 s (in panic); at 35 s it is 20 s old and leaves the window.
    const settle = run(scaler, spec, state, 31, 40, () => 0.1);
    const firstDown = settle.find((d) => d.desired < 20)!;
    assert.equal(firstDown.atMs, 35_000);
    assert.equal(firstDown.reason, 'ScaleDown');
    // 0.1 cores need 0.1 / 0.05 = 2 replicas.
    assert.equal(state.replicas, 2);
  });

  it('panic is bounded by maxReplicas', () => {
    const state = { replicas: 2 };
    const scaler = new ServiceAutoscaler(0, 2);
    const [d] = run(scaler, { ...BASE, maxReplicas: 8 }, state, 0, 0, () => 1.0);
    assert.equal(d.desired, 8);
    assert.equal(d.limitedBy, 'maxReplicas (8)');
  });

  it('holds within the tolerance band, and without data stays at the floor', () => {
    const state = { replicas: 4 };
    const scaler = new ServiceAutoscaler(0, 4);
    // 0.21 cores over 4 replicas is 52.5% (ratio 1.05): no change.
    assert.equal(run(scaler, BASE, state, 0, 0, () => 0.21)[0].reason, 'Hold');
    const empty = new ServiceAutoscaler(0, 0);
    const d = empty.observe(resolvePolicy({ ...BASE, minReplicas: 2 }), { atMs: 0 }, 0)!;
    assert.deepEqual([d.desired, d.reason, d.recommendation], [2, 'Bounds', undefined]);
  });

  it('a new instance (a new leader) does not scale down before a whole down window on it', () => {
    const state = { replicas: 8 };
    const scaler = new ServiceAutoscaler(100_000, 8); // started at 100 s with 8 replicas
    const spec = { ...BASE, behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } };
    // The load needs 1 replica, but the history before 100 s is unknown.
    const held = run(scaler, spec, state, 100, 159, () => 0.05);
    assert.ok(held.every((d) => d.desired === 8 && (d.reason === 'Hold')), 'no scale-down for 60 s');
    assert.equal(held.at(-1)!.limitedBy, 'the scale-down stabilisation window');
    const [down] = run(scaler, spec, state, 160, 160, () => 0.05);
    assert.equal(down.desired, 1);
  });
});

describe('ServiceAutoscaler (hpa-default policy)', () => {
  it('decides every 15 s, without panic: the same 10× step takes step-limited rounds', () => {
    const state = { replicas: 2 };
    const scaler = new ServiceAutoscaler(0, 2);
    const spec: AutoscaleSpec = { ...BASE, policy: 'hpa-default' };
    const decisions = run(scaler, spec, state, 0, 45, (s) => (s >= 10 ? 1.0 : 0.1));
    assert.deepEqual(decisions.map((d) => d.atMs), [0, 15_000, 30_000, 45_000], 'one decision per sync period');
    // At 15 s: need 20, limit max(ceil(2 × 2) = 4, 2 + 4 = 6) = 6. At 30 s: max(12, 10) = 12. At 45 s: 20 wanted, 20 allowed (max 24).
    assert.deepEqual(decisions.map((d) => d.desired), [2, 6, 12, 20]);
    assert.equal(decisions[1].limitedBy, 'the scale-up policies');
    assert.ok(decisions.every((d) => d.panicUntilMs === undefined));
  });
});
