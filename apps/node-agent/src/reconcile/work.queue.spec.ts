import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ManualClock } from '../testing/manual.clock';
import { WorkQueue } from './work.queue';

const RETRY = { initialMs: 100, maxMs: 1000 };

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('work queue', () => {
  it('runs a key once however often it is added before it runs', async () => {
    const runs: string[] = [];
    const gate = deferred();
    const queue = new WorkQueue(async (key) => {
      runs.push(key);
      if (key === 'blocker') await gate.promise;
    }, { concurrency: 1, retryBackoff: RETRY, maxRetries: 3 });
    queue.add('blocker'); // takes the only worker: the next adds wait in the queue
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('a');
    gate.resolve();
    await queue.idle();
    assert.deepEqual(runs, ['blocker', 'a', 'b']);
  });

  it('never runs one key twice at once, and runs it again when added during a run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const gate = deferred();
    const queue = new WorkQueue(async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await gate.promise;
      active--;
    }, { concurrency: 4, retryBackoff: RETRY, maxRetries: 3 });
    queue.add('k');
    queue.add('k'); // while processing: marked dirty
    gate.resolve();
    await queue.idle();
    await queue.idle();
    assert.equal(maxActive, 1);
    assert.equal(runs, 2);
  });

  it('retries a failing key with growing backoff up to the retry cap', async () => {
    const clock = new ManualClock();
    const attempts: number[] = [];
    const errors: boolean[] = [];
    const queue = new WorkQueue(async () => {
      attempts.push(clock.now());
      throw new Error('boom');
    }, { concurrency: 1, retryBackoff: RETRY, maxRetries: 3, clock, onError: (_k, _e, willRetry) => errors.push(willRetry) });
    const start = clock.now();
    queue.add('k');
    await queue.idle();
    for (let i = 0; i < 5; i++) {
      clock.advance(clock.nextTimerInMs() ?? 0);
      await queue.idle();
    }
    // first try at 0, then retries after 100, 200, 400 ms (1000 cap not reached); the 4th failure gives up
    assert.deepEqual(attempts.map((t) => t - start), [0, 100, 300, 700]);
    assert.deepEqual(errors, [true, true, true, false]);
    assert.equal(clock.nextTimerInMs(), undefined);
  });

  it('keeps the earliest of two delayed adds', async () => {
    const clock = new ManualClock();
    const runs: number[] = [];
    const queue = new WorkQueue(async () => void runs.push(clock.now()), { concurrency: 1, retryBackoff: RETRY, maxRetries: 1, clock });
    queue.addAfter('k', 5000);
    queue.addAfter('k', 1000);
    queue.addAfter('k', 3000);
    clock.advance(10_000);
    await queue.idle();
    assert.equal(runs.length, 1);
  });
});
