import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { backoffDelayMs, nextConsecutiveFailures } from './backoff.policy';

describe('restart backoff', () => {
  const delays: [attempt: number, expectedMs: number, why: string][] = [
    [0, 0, 'no failure yet: no wait'],
    [1, 1000, '1000 × 2^0'],
    [2, 2000, '1000 × 2^1'],
    [3, 4000, '1000 × 2^2'],
    [6, 32_000, '1000 × 2^5'],
    [7, 60_000, '1000 × 2^6 = 64000, capped at 60000'],
    [50, 60_000, 'stays at the cap'],
    [5000, 60_000, '2^4999 is Infinity, still capped'],
  ];
  for (const [attempt, expected, why] of delays) {
    it(`attempt ${attempt} waits ${expected} ms (${why})`, () => assert.equal(backoffDelayMs(attempt), expected));
  }

  it('uses the policy it is given', () => {
    // 500 × 2^3 = 4000, capped at 3000
    assert.equal(backoffDelayMs(4, { initialMs: 500, maxMs: 3000 }), 3000);
  });

  const counts: [previous: number, ranForMs: number, expected: number][] = [
    [0, 100, 1],
    [6, 9 * 60_000, 7],
    [6, 10 * 60_000, 1],
    [6, 3 * 3600_000, 1],
  ];
  for (const [previous, ranFor, expected] of counts) {
    it(`after ${previous} failures and a run of ${ranFor / 1000} s the count is ${expected}`, () =>
      assert.equal(nextConsecutiveFailures(previous, ranFor), expected));
  }
});
