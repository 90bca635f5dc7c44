/** The control planes' directory against a real etcd: each instance sees the others, not itself, and a stopped one goes. */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { CONTROL_PLANES_PREFIX, ControlPlaneDirectory, ControlPlanePeer } from './control-plane.directory';
import { TestEtcd, startTestEtcd } from './testing';

async function until<T>(what: string, read: () => T | undefined): Promise<T> {
  for (const deadline = Date.now() + 10_000; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
    const value = read();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, what);
  }
}

describe('control plane directory on etcd', { timeout: 60_000 }, () => {
  let etcd: TestEtcd;
  before(async () => (etcd = await startTestEtcd()));
  after(async () => etcd?.stop());

  it('lists every other instance with its address, and forgets one that stops', async () => {
    const seen = { a: [] as ControlPlanePeer[], b: [] as ControlPlanePeer[] };
    const directory = (id: 'a' | 'b', address: string) => new ControlPlaneDirectory(etcd.client, {
      id, address, onPeers: (peers) => (seen[id] = peers), log: () => undefined,
    });
    const a = directory('a', '127.0.0.1:7071');
    await a.start();
    assert.deepEqual(seen.a, [], 'alone: no peer, not itself');
    const b = directory('b', '127.0.0.2:7071');
    await b.start();
    assert.deepEqual(seen.b, [{ id: 'a', address: '127.0.0.1:7071' }], 'listed at start');
    await until('a sees b', () => (seen.a.length === 1 ? true : undefined));
    assert.deepEqual(seen.a, [{ id: 'b', address: '127.0.0.2:7071' }], 'seen through the watch');
    await b.stop();
    await until('a forgets b once it stops (its lease revoked)', () => (seen.a.length === 0 ? true : undefined));
    assert.equal(await etcd.client.get(`${CONTROL_PLANES_PREFIX}b`).string(), null);
    await a.stop();
  });

  it('refuses an id that would not name one key', () => {
    assert.throws(() => new ControlPlaneDirectory(etcd.client, { id: 'a/b', address: 'x:1', onPeers: () => undefined, log: () => undefined }), /--id "a\/b": no '\/'/);
  });
});
