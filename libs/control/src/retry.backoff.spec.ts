import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { RetryBackoff } from './retry.backoff';

describe('RetryBackoff', () => {
  it('doubles the delay per failure in a row, up to the cap, and forgets a key on success', () => {
    const backoff = new RetryBackoff(1000, 5000);
    assert.equal(backoff.due('a', 0), true);
    assert.equal(backoff.failed('a', 'boom', 0).retryAt, 1000); // 1000 * 2^0
    assert.equal(backoff.due('a', 999), false);
    assert.equal(backoff.due('a', 1000), true);
    assert.equal(backoff.failed('a', 'boom', 1000).retryAt, 3000); // 1000 * 2^1
    assert.equal(backoff.failed('a', 'boom', 3000).retryAt, 7000); // 1000 * 2^2
    assert.equal(backoff.failed('a', 'boom', 7000).retryAt, 12_000); // 8000 capped at 5000
    assert.equal(backoff.failure('a')?.failures, 4);
    assert.equal(backoff.succeeded('a'), true);
    assert.equal(backoff.due('a', 7001), true);
    assert.equal(backoff.succeeded('a'), false);
  });

  it('keeps keys apart: one failing key does not hold up another', () => {
    const backoff = new RetryBackoff();
    backoff.failed('slow', 'too large', 0);
    assert.equal(backoff.due('slow', 10), false);
    assert.equal(backoff.due('fast', 10), true);
  });
});
