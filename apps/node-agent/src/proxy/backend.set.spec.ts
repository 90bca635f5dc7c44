import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { BUSY, BackendSet, FAILED_BACKEND_PAUSE_MS, UNREACHABLE_BACKEND_PAUSE_MS } from './backend.set';
import type { Socket } from 'node:net';

function set(...outstanding: number[]): BackendSet {
  const backends = new BackendSet();
  backends.update(outstanding.map((_, i) => ({ host: '127.0.0.1', port: 1000 + i })));
  backends.backends.forEach((b, i) => (b.outstanding = outstanding[i]));
  return backends;
}

/** A random source returning the given values in turn. */
const draws = (...values: number[]) => () => values.shift() ?? 0;
// With three backends, draws(0.1, 0.4) picks backends 0 and 1 (i = 0, j = 0 → 1).

describe('choosing a replica under a limit of outstanding requests', () => {
  it('takes the less busy of the two drawn when it has room', () => {
    const backends = set(3, 1, 0);
    assert.equal(backends.pickUnder(4, [], draws(0.1, 0.4)), backends.backends[1]);
  });

  it('when the two drawn are full, takes the least busy of the others', () => {
    const backends = set(2, 2, 1);
    assert.equal(backends.pickUnder(2, [], draws(0.1, 0.4)), backends.backends[2]);
  });

  it('answers BUSY when every candidate is full, undefined when there is none, and ignores the limit at 0', () => {
    assert.equal(set(2, 2, 2).pickUnder(2, [], draws(0.1, 0.4)), BUSY);
    const tried = set(0, 2);
    assert.equal(tried.pickUnder(2, [tried.backends[0]]), BUSY, 'the one with room was tried already');
    assert.equal(set().pickUnder(2), undefined);
    const unlimited = set(50, 60);
    assert.equal(unlimited.pickUnder(0, [], draws(0.1, 0.4)), unlimited.backends[0]);
  });

  it('has room while some replica is under the limit; none without replicas', () => {
    assert.equal(set(2, 1).hasRoom(2), true);
    assert.equal(set(2, 2).hasRoom(2), false);
    assert.equal(set(2, 2).hasRoom(0), true);
    assert.equal(set().hasRoom(0), false);
  });

  it('tells its port after every update', () => {
    const backends = new BackendSet();
    let updates = 0;
    backends.onUpdate = () => updates++;
    backends.update([{ host: '127.0.0.1', port: 1 }]);
    backends.update([]);
    assert.equal(updates, 2);
  });

  it('passes over a replica whose connect failed while another can take the work, for a while (injected clock)', () => {
    let now = 1000;
    const backends = new BackendSet(() => now);
    backends.update([{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }]);
    const [refusing, serving] = backends.backends;
    serving.outstanding = 3; // the refusing one looks least busy: every pick would draw it first
    backends.connectFailed(refusing);
    for (let i = 0; i < 20; i++) assert.equal(backends.pick(), serving);
    assert.equal(backends.pickUnder(8), serving);
    assert.equal(backends.pickUnder(3), BUSY, 'the other is full: wait for it rather than another refused connect');
    assert.equal(backends.hasRoom(3), false);
    assert.equal(backends.pick([serving]), refusing, 'the only candidate left');
    assert.equal(backends.pickUnder(3, [serving]), refusing);
    now += FAILED_BACKEND_PAUSE_MS;
    assert.equal(backends.pick(undefined, draws(0, 0)), refusing, 'after the pause it is drawn again');
  });

  it('passes over a replica whose host did not answer a connect for longer, and drops its pooled connections', () => {
    let now = 1000;
    const backends = new BackendSet(() => now);
    backends.update([{ host: '198.18.0.3', port: 1 }, { host: '198.18.0.1', port: 2 }]);
    const [silent, serving] = backends.backends;
    let destroyed = 0;
    silent.idle.push({ destroyed: false, destroy: () => destroyed++ } as unknown as Socket);
    serving.outstanding = 3;
    backends.connectFailed(silent, true);
    assert.equal(destroyed, 1, 'nothing would answer on its pooled connections');
    assert.equal(silent.idle.length, 0);
    now += FAILED_BACKEND_PAUSE_MS + 1;
    for (let i = 0; i < 20; i++) assert.equal(backends.pick(), serving, 'still passed over after a refused connect\'s pause');
    now = 1000 + UNREACHABLE_BACKEND_PAUSE_MS;
    assert.equal(backends.pick(undefined, draws(0, 0)), silent, 'after the longer pause it is drawn again');
  });
});
