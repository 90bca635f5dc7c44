import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AutoscaleDecision } from '@tide/api';
import { Decision } from '@tide/autoscaler';
import { DECISIONS_KEPT, autoscaleStatus } from './autoscaler.status';

const T0 = Date.parse('2026-11-11T00:00:00Z');

function decision(extra: Partial<Decision> = {}): Decision {
  return {
    atMs: T0, current: 2, desired: 4, reason: 'ScaleUp', floor: { replicas: 2 },
    metrics: [
      { metric: 'cpu', observed: 1.2345, target: 0.6, ratio: 2.06, replicas: 2, recommendation: 5 },
      { metric: 'requests', observed: 36.04, target: 50, ratio: 0.72, replicas: 3, recommendation: 3 },
    ],
    ...extra,
  };
}

const record = (n: number): AutoscaleDecision => ({ time: new Date(T0 + n).toISOString(), from: n, to: n + 1, reason: 'ScaleUp', message: `step ${n}` });

describe('autoscaleStatus', () => {
  it('rounds the metrics for people: CPU to a tenth of a percent, requests to a tenth per second', () => {
    const status = autoscaleStatus(decision(), undefined, undefined);
    assert.deepEqual(status, {
      observedAt: '2026-11-11T00:00:00.000Z', currentReplicas: 2, desiredReplicas: 4, floor: 2,
      measuredReplicas: 3, cpuUtilizationPercentage: 123.5, requestsPerSecond: 36, lastDecisions: [],
    });
  });

  it('names the schedule that sets the floor, and the end of a panic', () => {
    const status = autoscaleStatus(decision({
      floor: { replicas: 20, schedule: { source: '0 0 11 11 *', name: 'singles-day', untilMs: T0 + 7_200_000 } }, panicUntilMs: T0 + 6000, metrics: [],
    }), undefined, undefined);
    assert.deepEqual(status.activeSchedule, { cron: '0 0 11 11 *', name: 'singles-day', until: '2026-11-11T02:00:00.000Z' });
    assert.equal(status.panicUntil, '2026-11-11T00:00:06.000Z');
    assert.equal(status.measuredReplicas, 0);
  });

  it('keeps the last scale time and the newest decisions, a new one appended', () => {
    const previous = autoscaleStatus(decision(), record(1), undefined);
    assert.equal(previous.lastScaleTime, record(1).time);
    const unchanged = autoscaleStatus(decision(), undefined, previous);
    assert.equal(unchanged.lastScaleTime, record(1).time);
    assert.deepEqual(unchanged.lastDecisions, [record(1)]);
    let status = previous;
    for (let n = 2; n <= 7; n++) status = autoscaleStatus(decision(), record(n), status);
    assert.equal(status.lastDecisions.length, DECISIONS_KEPT);
    assert.deepEqual(status.lastDecisions.map((d) => d.message), ['step 3', 'step 4', 'step 5', 'step 6', 'step 7']);
    assert.equal(status.lastScaleTime, record(7).time);
  });
});
