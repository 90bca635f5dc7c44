/** How many inits the warm pool keeps: its size, raised by recent bursts up to its maximum (fake members, no kernel). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PoolMember, WarmPool } from './warm.pool';

class FakeMember implements PoolMember {
  discarded = false;
  private resolveExit!: () => void;
  readonly exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => (this.resolveExit = () => resolve({ code: null, signal: 'SIGKILL' })));
  readonly ready = Promise.resolve(true);
  warmCgroup = undefined;
  usable(): boolean {
    return !this.discarded;
  }
  keepAlive(): void {}
  async discard(): Promise<void> {
    this.discarded = true;
    this.resolveExit();
  }
}

const NS = 0x20000;

function pool(now: { ms: number }) {
  const spawned: FakeMember[] = [];
  const warm = new WarmPool<FakeMember>(2, () => {
    const member = new FakeMember();
    spawned.push(member);
    return member;
  }, { maxSize: 16, burstMemoryMs: 60_000, now: () => now.ms });
  return { warm, spawned, live: () => spawned.filter((m) => !m.discarded).length };
}

describe('warm pool sizing', () => {
  it('keeps as many booted as the largest recent burst, at most its maximum', async () => {
    const now = { ms: 0 };
    const { warm } = pool(now);
    assert.equal(warm.target(NS), 2, 'its size before any burst');
    for (let starts = 1; starts <= 10; starts++) warm.sawBurst(NS, starts);
    assert.equal(warm.target(NS), 10, 'ten starts ran at once');
    warm.sawBurst(NS, 3);
    assert.equal(warm.target(NS), 10, 'a smaller burst does not shrink it');
    warm.sawBurst(NS, 40);
    assert.equal(warm.target(NS), 16, 'never past the maximum');
    await warm.close();
  });

  it('fills a set never started to an expected burst before it comes, and lets it lapse like a seen one', async () => {
    const now = { ms: 0 };
    const { warm, live } = pool(now);
    warm.expect(NS, 5);
    await new Promise((resolve) => setImmediate(resolve)); // the background refill
    assert.equal(live(), 5, 'five booted ahead, without a start of the set');
    for (let i = 0; i < 5; i++) assert.ok(warm.take(NS), `start ${i + 1} of the burst is warm`);
    now.ms = 60_001;
    assert.equal(warm.target(NS), 2, 'the expectation lapsed: back to the size');
    await warm.close();
  });

  it('fills up to the burst, and lets the extra members go once the burst lapses', async () => {
    const now = { ms: 0 };
    const { warm, live } = pool(now);
    warm.take(NS); // the set is kept warm from its first start
    for (let starts = 1; starts <= 6; starts++) warm.sawBurst(NS, starts);
    await warm.ready(NS);
    assert.equal(live(), 6);
    now.ms = 60_001;
    assert.equal(warm.target(NS), 2, 'the burst lapsed');
    await warm.ready(NS);
    assert.equal(live(), 2, 'four killed');
    await warm.close();
    assert.equal(live(), 0);
  });

  it('a pool of size 0 stays empty whatever the bursts', () => {
    const warm = new WarmPool<FakeMember>(0, () => new FakeMember(), { maxSize: 16 });
    warm.sawBurst(NS, 10);
    assert.equal(warm.take(NS), undefined);
  });
});
