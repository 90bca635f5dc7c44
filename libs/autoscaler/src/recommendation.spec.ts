import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { resolvePolicy } from './policy';
import { averageReading, combine, recommend } from './recommendation';

// CPU target 50% of the request; 10 requests per second per replica.
const policy = resolvePolicy({ maxReplicas: 50, targetCPUUtilizationPercentage: 50, targetRequestsPerSecond: 10 });

describe('recommend', () => {
  // [case, reading, current replicas, expected cpu recommendation, expected requests recommendation]
  const table: [string, Parameters<typeof recommend>[1], number, number | undefined, number | undefined][] = [
    // 4 replicas of 0.2 cores request use 0.8 cores: 0.8/0.8 = 100% of the request, ratio 100/50 = 2 → ceil(4×2) = 8.
    ['twice the cpu target', { atMs: 0, cpu: { replicas: 4, usedCores: 0.8, requestedCores: 0.8 } }, 4, 8, undefined],
    // 0.42/0.8 = 52.5%: ratio 1.05, within the 10% band → stays at current 4.
    ['within tolerance', { atMs: 0, cpu: { replicas: 4, usedCores: 0.42, requestedCores: 0.8 } }, 4, 4, undefined],
    // 0.45/0.8 = 56.25%: ratio 1.125 > 1.1 → ceil(4×1.125) = ceil(4.5) = 5.
    ['just outside tolerance', { atMs: 0, cpu: { replicas: 4, usedCores: 0.45, requestedCores: 0.8 } }, 4, 5, undefined],
    // 0.1/0.8 = 12.5%: ratio 0.25 → ceil(4×0.25) = 1.
    ['a quarter of the target', { atMs: 0, cpu: { replicas: 4, usedCores: 0.1, requestedCores: 0.8 } }, 4, 1, undefined],
    // Only 2 of 6 replicas measured (4 still starting): 2×0.2 = 0.4 requested, 0.6 used = 150%, ratio 3 → ceil(2×3) = 6, not 18.
    ['replicas still starting are not counted', { atMs: 0, cpu: { replicas: 2, usedCores: 0.6, requestedCores: 0.4 } }, 6, 6, undefined],
    // 95 rps over 2 replicas = 47.5 per replica, ratio 4.75 → ceil(2×4.75) = ceil(9.5) = 10.
    ['requests per second', { atMs: 0, requests: { replicas: 2, perSecond: 95 } }, 2, undefined, 10],
    // 40 rps and no ready replica: the whole rate counts against one, ratio 4 → ceil(1×4) = 4.
    ['requests with no ready replica', { atMs: 0, requests: { replicas: 0, perSecond: 40 } }, 1, undefined, 4],
    ['no data', { atMs: 0 }, 3, undefined, undefined],
    ['no measured replica', { atMs: 0, cpu: { replicas: 0, usedCores: 0, requestedCores: 0 } }, 3, undefined, undefined],
  ];
  for (const [name, reading, current, cpu, requests] of table) {
    it(name, () => {
      const out = recommend(policy, reading, current);
      assert.equal(out.find((m) => m.metric === 'cpu')?.recommendation, cpu);
      assert.equal(out.find((m) => m.metric === 'requests')?.recommendation, requests);
    });
  }

  it('takes the largest over metrics', () => {
    // cpu: 0.3/0.4 = 75%, ratio 1.5 → ceil(2×1.5) = 3; requests: 50/2 = 25 per replica, ratio 2.5 → ceil(2×2.5) = 5.
    const out = recommend(policy, { atMs: 0, cpu: { replicas: 2, usedCores: 0.3, requestedCores: 0.4 }, requests: { replicas: 2, perSecond: 50 } }, 2);
    assert.deepEqual(combine(out), { replicas: 5, ratio: 2.5 });
  });

  it('a metric without a target gives nothing', () => {
    const cpuOnly = resolvePolicy({ maxReplicas: 5, targetCPUUtilizationPercentage: 50 });
    assert.deepEqual(recommend(cpuOnly, { atMs: 0, requests: { replicas: 1, perSecond: 1000 } }, 1), []);
  });
});

describe('averageReading', () => {
  it('averages the load over the window, against the capacity of the latest reading', () => {
    const readings = [
      { atMs: 0, cpu: { replicas: 1, usedCores: 5, requestedCores: 0.1 } },
      { atMs: 1000, cpu: { replicas: 6, usedCores: 0.2, requestedCores: 0.6 } },
      { atMs: 2000, cpu: { replicas: 2, usedCores: 0.4, requestedCores: 0.2 }, requests: { replicas: 2, perSecond: 30 } },
    ];
    // From 1000: cpu (0.2 + 0.4)/2 = 0.3 cores, on the 2 replicas (0.2 cores requested) now there; requests only in one reading: 30.
    const mean = averageReading(readings, 1000)!;
    assert.ok(Math.abs(mean.cpu!.usedCores - 0.3) < 1e-12);
    assert.deepEqual([mean.cpu!.replicas, mean.cpu!.requestedCores], [2, 0.2]);
    assert.equal(mean.requests!.perSecond, 30);
    assert.equal(mean.atMs, 2000);
    assert.equal(averageReading(readings, 3000), undefined);
  });

  it('a scale-in within the window does not ask for the removed replicas back', () => {
    const policy = resolvePolicy({ maxReplicas: 10, targetCPUUtilizationPercentage: 50 });
    // 0.05 cores of load throughout (one replica's worth at 50% of 0.1): first on 3 replicas, then on 1.
    const readings = [
      { atMs: 0, cpu: { replicas: 3, usedCores: 0.05, requestedCores: 0.3 } },
      { atMs: 1000, cpu: { replicas: 1, usedCores: 0.05, requestedCores: 0.1 } },
    ];
    // Mean load 0.05 cores on the 1 replica (0.1 requested) there now: 50%, ratio 1 → 1, not a scale-up back to 2.
    assert.equal(combine(recommend(policy, averageReading(readings, 0)!, 1))!.replicas, 1);
  });
});
