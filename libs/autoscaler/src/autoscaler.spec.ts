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
  it('scales up when a moderate rise (no panic) has lasted the 5 s up window, within the step limits', () => {
    const state = { replicas: 4 };
    const scaler = new ServiceAutoscaler(-60_000, 4);
    run(scaler, BASE, state, -10, -1, () => 0.2); // 4 replicas at target use 0.2 cores
    // 0.3 cores is ratio 1.5 → ceil(4 × 1.5) = 6, allowed (up to 8 per 15 s), once the last 5 s hold no lower recommendation.
    const decisions = run(scaler, BASE, state, 0, 6, () => 0.3);
    assert.deepEqual([decisions[0].desired, decisions[0].limitedBy], [4, 'the scale-up stabilisation window']);
    assert.equal(state.replicas, 6);
    assert.ok(decisions.every((d) => d.panicUntilMs === undefined && d.reason !== 'Panic'));
  });

  it('a burst of a second or two read as load does not add replicas', () => {
    const state = { replicas: 4 };
    const scaler = new ServiceAutoscaler(-60_000, 4);
    // 0.2 cores but 0.35 at 10 s and 11 s: the 3 s mean reads ratio 1.25 to 1.75 for four decisions (below panic's 2).
    const decisions = run(scaler, BASE, state, 0, 30, (s) => (s === 10 || s === 11 ? 0.35 : 0.2));
    assert.ok(decisions.some((d) => d.recommendation! > 4));
    assert.ok(decisions.every((d) => d.desired === 4));
  });

  it('panics on a 10× step: straight to the need, past the step limits, never down while panicking', () => {
    const state = { replicas: 2 };
    const scaler = new ServiceAutoscaler(0, 2);
    const spec = { ...BASE, behavior: { scaleDown: { stabilizationWindowSeconds: 20 } } };
    run(scaler, spec, state, 0, 9, () => 0.1); // 2 replicas at target
    // Step to 1.0 cores at 10 s: ratio 10 on 2 replicas, a need of 20; the step limits would allow max(4, 6) = 6.
    // Panic takes the fewest replicas that hold it within the 10% band: ceil(20 / 1.1) = 19 (105% of the target).
    const [panic] = run(scaler, spec, state, 10, 10, () => 1.0);
    assert.equal(panic.reason, 'Panic');
    assert.equal(panic.desired, 19);
    assert.equal(panic.panicUntilMs, 16_000, '6 s panic window from the reading');
    assert.match(decisionText(panic, resolvePolicy(spec)), /2 → 19 replicas \(Panic\); cpu 500% of the request over 2 replica\(s\) \(target 50%\) → 20; panic until [^;]*: straight to the highest need seen, within the 10% tolerance, no scale-down/);
    assert.match(decisionText(panic, { ...resolvePolicy(spec), tolerance: 0.05 }), /\(a reading at ≥ 200% of the target\): [^;]*within the 5% tolerance/, 'the band and threshold quoted are the policy\'s');
    // The load drops back at 11 s: no scale-down while panicking (until 16 s), then the 20 s down window.
    const after = run(scaler, spec, state, 11, 30, () => 0.1);
    assert.ok(after.every((d) => d.desired === 19), 'held at 19 through the panic and the down window');
    // The last high recommendation (19) was at 15 s (in panic); at 35 s it is 20 s old and leaves the window.
    const settle = run(scaler, spec, state, 31, 40, () => 0.1);
    const firstDown = settle.find((d) => d.desired < 19)!;
    assert.equal(firstDown.atMs, 35_000);
    assert.equal(firstDown.reason, 'ScaleDown');
    // 0.1 cores need 0.1 / 0.05 = 2 replicas.
    assert.equal(state.replicas, 2);
  });

  it('panic does not add a replica for a reading a few percent above an exact need', () => {
    const state = { replicas: 2 };
    const scaler = new ServiceAutoscaler(0, 2);
    run(scaler, BASE, state, 0, 9, () => 0.1); // 2 replicas at target
    // A step to 8 replicas' worth (0.4 cores), read 3% high now and then (the first reading too): ceil(8.24) would be 9.
    const decisions = run(scaler, BASE, state, 10, 15, (s) => (s % 2 === 0 ? 0.412 : 0.4));
    assert.ok(decisions.some((d) => d.reason === 'Panic'));
    assert.equal(Math.max(...decisions.map((d) => d.desired)), 8);
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

  it('a floor\'s replicas do not enter the down window through the tolerance band: the count falls when the floor ends', () => {
    // A floor of 10 from midnight (0 s) for 60 s, the default 300 s down window; 0.45 cores need 0.45 / 0.05 = 9 replicas.
    const spec = { ...BASE, schedules: [{ cron: '0 0 * * *', minReplicas: 10, durationSeconds: 60 }] };
    const state = { replicas: 9 };
    const scaler = new ServiceAutoscaler(-600_000, 9);
    const decisions = run(scaler, spec, state, -300, 400, () => 0.45);
    assert.deepEqual(decisions.filter((d) => d.desired !== d.current).map((d) => [d.atMs, d.desired, d.reason]), [[0, 10, 'Schedule'], [60_000, 9, 'ScaleDown']]);
    // Under the floor, 10 replicas at 45% are at ratio 0.9, within the tolerance: the load held 9, and
    // 9 is what the window remembers (before, the floor's 10 were held until 359 s).
    const floored = decisions.find((d) => d.atMs === 30_000)!;
    assert.deepEqual([floored.metrics[0].unchanged, floored.recommendation], ['tolerance', 9]);
  });

  it('under a floor, the load\'s own rise still enters the down window', () => {
    // A floor of 20 from midnight for 120 s; 0.9 cores (18 replicas' worth, ratio 0.9 on 20: within the
    // tolerance) from 10 s to 60 s, else 0.45 cores (9).
    const spec = { ...BASE, schedules: [{ cron: '0 0 * * *', minReplicas: 20, durationSeconds: 120 }] };
    const state = { replicas: 9 };
    const scaler = new ServiceAutoscaler(-600_000, 9);
    const load = (s: number) => (s >= 10 && s < 60 ? 0.9 : 0.45);
    const decisions = run(scaler, spec, state, -10, 400, load);
    // When the floor ends, the window holds the 18 the load needed until 59 s for 300 s, then (the
    // 3 s metric window's mean passing through) down to 9.
    const at = (s: number) => decisions.find((d) => d.atMs === s * 1000)!.desired;
    assert.deepEqual([at(0), at(119), at(120), at(358), at(400)], [20, 20, 18, 18, 9]);
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

describe('ServiceAutoscaler (tide policy): node-aware scale-in', () => {
  /** The replicas on nodes of 4, filled in order (9 → 4, 4, 1), none shared: what the reading's `nodes` say. */
  const onNodesOf4 = (replicas: number) => Array.from({ length: Math.ceil(replicas / 4) }, (_, i) => ({ replicas: Math.min(4, replicas - 4 * i), stays: false }));

  function runOnNodes(withNodes: boolean, fromS: number, toS: number, cores: number, state: { replicas: number }, scaler: ServiceAutoscaler): Decision[] {
    const policy = resolvePolicy(BASE);
    const decisions: Decision[] = [];
    for (let s = fromS; s <= toS; s++) {
      const read = { ...reading(s * 1000, state.replicas, cores), ...(withNodes ? { nodes: onNodesOf4(state.replicas) } : {}) };
      const decision = scaler.observe(policy, read, state.replicas);
      if (!decision) continue;
      decisions.push(decision);
      state.replicas = decision.desired;
    }
    return decisions;
  }

  it('replicas that alone keep a node go after the 120 s node-release window, the rest after the 300 s down window', () => {
    const state = { replicas: 9 };
    const scaler = new ServiceAutoscaler(-600_000, 9);
    runOnNodes(true, -30, -1, 0.45, state, scaler); // 9 replicas at target (0.05 cores each)
    // From 0 s the load needs 7 (0.35 / 0.05); by 2 s the 3 s mean says so. 9 is 4 + 4 + 1: going to 7
    // empties the node of 1 only, so the count may fall to 8 once no recommendation of the last 120 s is above 8.
    const decisions = runOnNodes(true, 0, 310, 0.35, state, scaler);
    const at = (s: number) => decisions.find((d) => d.atMs === s * 1000)!;
    assert.ok(decisions.filter((d) => d.atMs < 120_000).every((d) => d.desired === 9), 'held 120 s');
    assert.equal(at(120).desired, 8, 'the recommendation of 1 s (8) has left the node-release window: the node of 1 empties');
    assert.equal(at(250).desired, 8, 'the other replica shares a node the load needs: held by the down window');
    assert.equal(at(302).desired, 7);
  });

  it('without the nodes in the reading, the down window holds every replica', () => {
    const state = { replicas: 9 };
    const scaler = new ServiceAutoscaler(-600_000, 9);
    runOnNodes(false, -30, -1, 0.45, state, scaler);
    const decisions = runOnNodes(false, 0, 302, 0.35, state, scaler);
    assert.ok(decisions.filter((d) => d.atMs < 300_000).every((d) => d.desired === 9));
    assert.equal(decisions.at(-1)!.desired, 7);
  });

  it('a down window the user set shorter than the node-release window applies to all replicas', () => {
    const policy = resolvePolicy({ ...BASE, behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } });
    assert.equal(policy.nodeReleaseMs, 60_000);
    assert.equal(resolvePolicy(BASE).nodeReleaseMs, 120_000);
    assert.equal(resolvePolicy({ ...BASE, policy: 'hpa-default' }).nodeReleaseMs, undefined, 'the HPA knows nothing of nodes');
  });
});

/** A replica of the simulated cluster below: running 1 s after it is created, ready 1 s later. */
interface SimPod {
  name: string;
  createdS: number;
  cpuSeconds: number;
}

/**
 * A cluster for a policy reading pods: each second the ready replicas share the load evenly, their
 * agents' counters go into a reading of every replica, and each decision adds or removes replicas.
 */
function runPods(scaler: ServiceAutoscaler, spec: AutoscaleSpec, pods: SimPod[], fromS: number, toS: number, load: (s: number) => number): Decision[] {
  const policy = resolvePolicy(spec);
  const decisions: Decision[] = [];
  for (let s = fromS; s <= toS; s++) {
    const ready = pods.filter((p) => s >= p.createdS + 2);
    for (const p of ready) p.cpuSeconds += load(s) / ready.length;
    const readings = pods.map((p) => {
      const running = s >= p.createdS + 1;
      const startedAtMs = (p.createdS + 1) * 1000;
      return {
        name: p.name, phase: running ? 'Running' as const : 'Pending' as const, deleting: false, ready: s >= p.createdS + 2,
        requestedCores: REQUEST, ...(running ? { startedAtMs, cpuCounter: { atMs: s * 1000, cpuSeconds: p.cpuSeconds, startedAtMs } } : {}),
        // The Ready condition: false from the start, true from 1 s later.
        ...(running ? { readyChangedAtMs: s >= p.createdS + 2 ? (p.createdS + 2) * 1000 : startedAtMs } : {}),
      };
    });
    const decision = scaler.observe(policy, { atMs: s * 1000, pods: readings }, pods.length);
    if (!decision) continue;
    decisions.push(decision);
    while (pods.length < decision.desired) pods.push({ name: `new-${s}-${pods.length}`, createdS: s, cpuSeconds: 0 });
    pods.splice(decision.desired);
  }
  return decisions;
}

describe('ServiceAutoscaler (hpa-default policy)', () => {
  it('decides every 15 s on 15 s metrics-server samples, without panic; new replicas count at 0% until sampled', () => {
    const pods: SimPod[] = [{ name: 'a', createdS: -600, cpuSeconds: 0 }, { name: 'b', createdS: -600, cpuSeconds: 0 }];
    // Created at 5 s: syncs at 5, 20, 35, 50 s; the metrics server scrapes at 5 s (its first call), then at 15, 30, 45 s.
    const scaler = new ServiceAutoscaler(5000, 2);
    const decisions = runPods(scaler, { ...BASE, policy: 'hpa-default' }, pods, 5, 50, (s) => (s >= 20 ? 1.0 : 0.1));
    assert.deepEqual(decisions.map((d) => d.atMs), [5000, 20_000, 35_000, 50_000], 'one decision per sync period');
    // 5 s: one scrape, no rate yet. 20 s: the step is on, but the sample is 5-15 s: 0.05 cores each = 50%, on target.
    assert.deepEqual(decisions.map((d) => d.metrics.length), [0, 1, 1, 1]);
    assert.equal(decisions[1].desired, 2);
    // 35 s: the 15-30 s sample: 4 s × 0.05 + 11 s × 0.5 = 5.7 core-seconds / 15 s = 380%, ratio 7.6 → ceil(2 × 7.6) = 16,
    // held to max(2 × 2, 2 + 4) = 6 by the scale-up policies.
    assert.equal(decisions[2].metrics[0].observed, 3.8);
    assert.deepEqual([decisions[2].recommendation, decisions[2].desired, decisions[2].limitedBy], [16, 6, 'the scale-up policies']);
    // 50 s: the old two over 30-45 s: 6 s × 0.5 + 9 s × 1/6 (the new four ready from 37 s) = 4.5 / 15 = 300%, ratio 6;
    // the new four started 9 s before the 45 s scrape (< 10 s): no sample, counted at 0%: 600m / 600m = 100%, ratio 2 → 12.
    const cpu = decisions[3].metrics[0];
    assert.deepEqual([cpu.observed, cpu.replicas, cpu.assumed, cpu.recommendation, decisions[3].desired], [3, 2, { notReady: 0, missing: 4 }, 12, 12]);
    assert.match(decisionText(decisions[3], resolvePolicy({ ...BASE, policy: 'hpa-default' })), /^6 → 12 replicas \(ScaleUp\); cpu 300% of the request over 2 replica\(s\) \+ 4 without a sample at 0% \(target 50%\) → 12/);
    assert.ok(decisions.every((d) => d.panicUntilMs === undefined));
  });

  it('ignores the agents\' fast CPU readings', () => {
    const scaler = new ServiceAutoscaler(0, 2);
    const d = scaler.observe(resolvePolicy({ ...BASE, policy: 'hpa-default' }), reading(0, 2, 1.0), 2)!;
    assert.deepEqual([d.metrics, d.desired], [[], 2]);
  });
});
