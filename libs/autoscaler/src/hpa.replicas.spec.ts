import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { groupPods, hpaCpuRecommendation } from './hpa.replicas';
import { CpuSample } from './metrics.server';
import { HPA_TIMING } from './policy';
import { PodReading } from './recommendation';

// Every pod requests 100m; the target is 60% of it; "now" is 1000 s.
const NOW = 1_000_000;
const TARGET = 0.6;
const OLD = NOW - 600_000; // started 10 min ago: past the 5 min CPU initialisation period

interface Pod extends PodReading {
  /** Its metrics-server sample, a 15 s mean ending 5 s ago unless given otherwise. */
  sample?: CpuSample;
}

/** A running pod, ready since shortly after it started long ago, using `cores` (undefined: no sample). */
function pod(name: string, cores: number | undefined, extra: Partial<Pod> = {}): Pod {
  return {
    name, phase: 'Running', deleting: false, ready: true, startedAtMs: OLD, readyChangedAtMs: OLD + 5000, requestedCores: 0.1,
    ...(cores !== undefined ? { sample: { atMs: NOW - 5000, windowMs: 15_000, cores } } : {}), ...extra,
  };
}

const sampleOf = (pods: Pod[]) => (name: string) => pods.find((p) => p.name === name)?.sample;

describe('groupPods', () => {
  it('sorts pods as the HPA does for CPU', () => {
    const pods = [
      pod('ready', 0.05),
      pod('deleting', 0.05, { deleting: true }),
      pod('failed', undefined, { phase: 'Failed' }),
      pod('pending', undefined, { phase: 'Pending', startedAtMs: undefined }),
      pod('no-sample', undefined),
      // Started 20 s ago, ready 10 s ago: its sample (window 15 s, ending 5 s ago) began before it was ready.
      pod('warming', 0.2, { startedAtMs: NOW - 20_000, readyChangedAtMs: NOW - 10_000 }),
      // Started 60 s ago, ready 40 s ago: the sample's whole window is after that, so it counts.
      pod('warmed', 0.05, { startedAtMs: NOW - 60_000, readyChangedAtMs: NOW - 40_000 }),
      pod('starting-not-ready', 0.05, { startedAtMs: NOW - 60_000, readyChangedAtMs: NOW - 59_000, ready: false }),
      // Past the initialisation period: not ready now but ready before (its readiness changed 5 min after its start): counts.
      pod('was-ready', 0.05, { ready: false, readyChangedAtMs: OLD + 300_000 }),
      // Past it, not ready and never was (its readiness last changed within 30 s of its start): left out.
      pod('never-ready', 0.05, { ready: false, readyChangedAtMs: OLD + 1000 }),
      pod('unknown-start', 0.05, { startedAtMs: undefined }),
    ];
    assert.deepEqual(groupPods(pods, sampleOf(pods), NOW, HPA_TIMING), {
      ready: ['ready', 'warmed', 'was-ready'],
      unready: ['pending', 'warming', 'starting-not-ready', 'never-ready', 'unknown-start'],
      missing: ['no-sample'],
      ignored: ['deleting', 'failed'],
    });
  });
});

describe('hpaCpuRecommendation', () => {
  // [case, pods, current replicas, expected recommendation (undefined: none), why it is unchanged]
  const table: [string, Pod[], number, number | undefined, string | undefined][] = [
    // 2 × 150m of 2 × 100m = 150%, ratio 150/60 = 2.5 → ceil(2 × 2.5) = 5.
    ['all ready: ceil(ready × ratio)', [pod('a', 0.15), pod('b', 0.15)], 2, 5, undefined],
    // 64% / 60% = 1.067: within 10%.
    ['within the tolerance', [pod('a', 0.064), pod('b', 0.064)], 2, 2, 'tolerance'],
    // Utilisation is a whole percent of whole millicores: 2 × 65.4m → 66m each (rounded up) → 66%, ratio 1.1 (1.1000000000000001 in floats: outside) → ceil(2.2) = 3.
    ['whole millicores and percent, as Kubernetes', [pod('a', 0.0654), pod('b', 0.0654)], 2, 3, undefined],
    // 12% → ratio 0.2 → ceil(3 × 0.2) = 1.
    ['scale-down', [pod('a', 0.012), pod('b', 0.012), pod('c', 0.012)], 3, 1, undefined],
    // Ready 2 × 250% (ratio 4.17, up) + 2 pending at 0%: 500m / 400m = 125%, ratio 2.083 → ceil(4 × 2.083) = 9: what the
    // ready pods' usage needs (500m / 60m), nothing for the load the starting ones will take or the ready ones could not serve.
    ['pods still starting count at 0% on a scale-up', [pod('a', 0.25), pod('b', 0.25), pod('c', undefined, { phase: 'Pending' }), pod('d', undefined, { phase: 'Pending' })], 4, 9, undefined],
    // Ready 2 × 150% (ratio 2.5) + 3 pending at 0%: 300m / 500m = 60%, ratio 1.0: within, stays at 5.
    ['... which can put the ratio within the tolerance', [pod('a', 0.15), pod('b', 0.15), pod('c', undefined, { phase: 'Pending' }), pod('d', undefined, { phase: 'Pending' }), pod('e', undefined, { phase: 'Pending' })], 5, 5, 'tolerance'],
    // Ready 1 × 90% (ratio 1.5, up) + 2 missing at 0%: 90m / 300m = 30%, ratio 0.5: the assumption turns it round → keep 3.
    ['missing pods count at 0% on a scale-up', [pod('a', 0.09), pod('b', undefined), pod('c', undefined)], 3, 3, 'direction'],
    // Ready 3 × 12% (ratio 0.2) + 1 missing at 100%: 136m / 400m = 34%, ratio 0.567 → ceil(4 × 0.567) = ceil(2.27) = 3, not ceil(3 × 0.2) = 1.
    ['missing pods count at 100% on a scale-down', [pod('a', 0.012), pod('b', 0.012), pod('c', 0.012), pod('d', undefined)], 4, 3, undefined],
    // Ready 1 × 50% (ratio 0.833, down) + 1 missing at 100%: 150m / 200m = 75%, ratio 1.25: the assumption turns it round → keep 2.
    ['an assumption that reverses the direction keeps the count', [pod('a', 0.05), pod('b', undefined)], 2, 2, 'direction'],
    // Ready 1 × 30% (ratio 0.5, down) + 1 pending (not counted on a scale-down) + 1 missing at 100%: 130m / 200m = 65% → ratio 1.083: within.
    ['unready pods are left out of a scale-down', [pod('a', 0.03), pod('b', undefined, { phase: 'Pending' }), pod('c', undefined)], 3, 3, 'tolerance'],
    // Deleting and failed pods are nowhere: 1 × 120% → ratio 2 → 2.
    ['deleting and failed pods are ignored', [pod('a', 0.12), pod('b', 0.5, { deleting: true }), pod('c', undefined, { phase: 'Failed' })], 3, 2, undefined],
    ['no ready pod with a sample: no recommendation', [pod('a', undefined, { phase: 'Pending' }), pod('b', undefined)], 2, undefined, undefined],
  ];
  for (const [name, pods, current, expected, unchanged] of table) {
    it(name, () => {
      const out = hpaCpuRecommendation(pods, sampleOf(pods), TARGET, 0.1, current, NOW);
      assert.equal(out?.recommendation, expected);
      assert.equal(out?.unchanged, unchanged);
    });
  }

  it('reports the measured utilisation and what it assumed', () => {
    const pods = [pod('a', 0.25), pod('b', 0.25), pod('c', undefined, { phase: 'Pending' }), pod('d', undefined)];
    const out = hpaCpuRecommendation(pods, sampleOf(pods), TARGET, 0.1, 4, NOW)!;
    // Measured: 250% on the 2 ready ones; then 500m / 400m = 125%, ratio 2.083 → ceil(4 × 2.083) = 9.
    assert.deepEqual({ ...out, ratio: Math.round(out.ratio * 1000) / 1000 }, {
      metric: 'cpu', observed: 2.5, target: TARGET, ratio: 4.167, replicas: 2, recommendation: 9, assumed: { notReady: 1, missing: 1 },
    });
  });
});
