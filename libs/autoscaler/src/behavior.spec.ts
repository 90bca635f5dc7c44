import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { scaleDownLimit, scaleUpLimit, stabilize } from './behavior';
import { DirectionRules } from './policy';

const up: DirectionRules = { windowMs: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }, { type: 'Pods', value: 4, periodMs: 15_000 }] };
const down: DirectionRules = { windowMs: 300_000, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }] };
const NOW = 1_000_000;

describe('stabilize', () => {
  const history = [
    { atMs: NOW - 400_000, replicas: 20 }, // outside the 300 s down window
    { atMs: NOW - 200_000, replicas: 9 },
    { atMs: NOW - 10_000, replicas: 4 },
  ];
  const table: [string, number, number, number][] = [
    // [case, current, recommendation, expected]
    ['up is immediate with a 0 s up window', 5, 12, 12],
    // Down: the highest of the window (9, 4 and the new 3) = 9, below the current 10.
    ['down goes to the highest of the window', 10, 3, 9],
    // Highest of the window 9 ≥ current 6: stays.
    ['down waits while the window holds more', 6, 3, 6],
  ];
  for (const [name, current, recommendation, expected] of table) {
    it(name, () => assert.equal(stabilize(current, recommendation, history, NOW, up, down), expected));
  }

  it('an up window takes the lowest of it', () => {
    const slowUp = { ...up, windowMs: 30_000 };
    // Within 30 s: 4 and the new 12 → lowest 4 < current 5 → no change up; down side: highest 12 > 5 → stays 5.
    assert.equal(stabilize(5, 12, history, NOW, slowUp, down), 5);
  });
});

describe('step limits', () => {
  const table: [string, number, { atMs: number; change: number }[], number, number][] = [
    // [case, current, events, up limit, down limit]
    // Up: max(ceil(3 × 2) = 6, 3 + 4 = 7) = 7. Down: 3 × (1 - 100%) = 0.
    ['no recent events', 3, [], 7, 0],
    // 10 → max(20, 14) = 20.
    ['percent wins on large counts', 10, [], 20, 0],
    // +5 within 15 s: period start 8 - 5 = 3 → max(6, 7) = 7 (already 8: never below current) → 8.
    ['added replicas count against the period', 8, [{ atMs: NOW - 5000, change: 5 }], 8, 0],
    // The +5 is older than 15 s: start 8 → max(16, 12) = 16.
    ['older events do not count', 8, [{ atMs: NOW - 20_000, change: 5 }], 16, 0],
  ];
  for (const [name, current, events, upLimit, downLimit] of table) {
    it(name, () => {
      assert.equal(scaleUpLimit(current, events, NOW, up), upLimit);
      assert.equal(scaleDownLimit(current, events, NOW, down), downLimit);
    });
  }

  it('down: Pods and Percent with Max take the bigger step, Min the smaller', () => {
    const policies = [{ type: 'Pods' as const, value: 2, periodMs: 60_000 }, { type: 'Percent' as const, value: 50, periodMs: 60_000 }];
    // 10: Pods → 8, Percent → trunc(10 × 0.5) = 5. Max = the bigger change: 5; Min: 8.
    assert.equal(scaleDownLimit(10, [], NOW, { windowMs: 0, selectPolicy: 'Max', policies }), 5);
    assert.equal(scaleDownLimit(10, [], NOW, { windowMs: 0, selectPolicy: 'Min', policies }), 8);
    // After removing 2 within the minute (start 10, now 8): Pods 10 - 2 = 8 → no further step (Min).
    assert.equal(scaleDownLimit(8, [{ atMs: NOW - 1000, change: -2 }], NOW, { windowMs: 0, selectPolicy: 'Min', policies }), 8);
  });

  it('Disabled keeps the count in that direction', () => {
    assert.equal(scaleUpLimit(3, [], NOW, { ...up, selectPolicy: 'Disabled' }), 3);
    assert.equal(scaleDownLimit(3, [], NOW, { ...down, selectPolicy: 'Disabled' }), 3);
  });
});
