/**
 * The store against a real etcd in the faults issue 17 names: objects too large for a request, the
 * NOSPACE alarm (a 16 MiB quota filled), expiring objects, an unreachable etcd.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import { ObjectTooLargeError, StoreNoSpaceError, StoreUnavailableError } from './errors';
import { EtcdHealth } from './etcd.health';
import { EtcdMaintenance } from './etcd.maintenance';
import { LeaseWindows } from './lease.windows';
import { ObjectStore } from './object.store';
import { TestEtcd, freePort, pauseProcess, startTestEtcd } from './testing';
import { createEtcdClient } from './etcd.client';

const QUOTA = 16 * 2 ** 20;

function service(name: string, envBytes = 0): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { replicas: 1, image: 'busybox', ...(envBytes ? { env: { BIG: 'x'.repeat(envBytes) } } : {}) },
  };
}

describe('store faults on a real etcd', { timeout: 240_000 }, () => {
  let etcd: TestEtcd;
  let health: EtcdHealth;
  let store: ObjectStore;

  before(async () => {
    etcd = await startTestEtcd({ quotaBackendBytes: QUOTA });
    health = new EtcdHealth(etcd.client);
    store = new ObjectStore(etcd.client, { health });
  });
  after(async () => etcd?.stop());

  it('refuses an object over the per-object limit before sending it, naming the field', async () => {
    await assert.rejects(store.create(service('huge', 1.2 * 2 ** 20)), (error: Error) => {
      assert.ok(error instanceof ObjectTooLargeError);
      assert.match(error.message, /Service default\/huge is 1\.2 MiB stored, over the 1\.0 MiB/);
      assert.match(error.message, /spec\.env 1\.2 MiB/);
      return true;
    });
    assert.equal(await store.get('Service', 'default', 'huge'), undefined);
    await store.create(service('fits', 200 * 1024)); // 200 kB of env is fine
  });

  it('expires objects written with a lease window', async () => {
    const leases = new LeaseWindows(etcd.client, 2, 1);
    await store.create(service('short-lived'), { lease: await leases.current() });
    assert.ok(await store.get('Service', 'default', 'short-lived'));
    await waitFor(async () => (await store.get('Service', 'default', 'short-lived')) === undefined, { what: 'the leased object to expire' });
  });

  it('on NOSPACE refuses writes naming the alarm, keeps reads and deletes, and recovers once space is freed', async () => {
    const filled: string[] = [];
    let refused: unknown;
    for (let i = 0; i < 400 && !refused; i++) {
      await store.create(service(`fill-${i}`, 512 * 1024)).then(() => filled.push(`fill-${i}`), (error: unknown) => (refused = error));
    }
    assert.ok(refused instanceof StoreNoSpaceError, `expected NOSPACE, got ${String(refused)}`);
    assert.match((refused as Error).message, /NOSPACE/);
    await waitFor(async () => (await health.probe()).alarms.includes('NOSPACE'), { what: 'the probe to see the alarm' });
    assert.ok(await store.get('Service', 'default', filled[0]), 'reads keep working');
    await assert.rejects(store.create(service('after-full')), StoreNoSpaceError);
    // Still full: recovery compacts and defragments but leaves the alarm raised, saying why. The
    // objects that filled the quota take about 80% of it once defragmented, which is where the
    // default ratio is: half makes "still full" certain, whatever bbolt's pages did.
    const maintenance = new EtcdMaintenance(etcd.client, health, { quotaBytes: QUOTA, recoveredRatio: 0.5 });
    assert.match(await maintenance.recover(), /delete objects/);
    for (const name of filled) assert.equal(await store.delete('Service', 'default', name), true, 'deletes keep working');
    assert.match(await maintenance.pass(), /NOSPACE disarmed/);
    assert.deepEqual(health.state.alarms, []);
    await store.create(service('after-recovery'));
  });

  it('finds a silent etcd unreachable after two probes without an answer, not one, and reachable again after one answer', async () => {
    const pid = etcd.pid();
    assert.ok(pid, 'the test etcd runs');
    const probing = new EtcdHealth(etcd.client, 1000, 500);
    assert.equal((await probing.probe()).reachable, true);
    try {
      await pauseProcess(pid);
      const first = await probing.probe();
      assert.equal(first.reachable, true, 'one probe without an answer is a slow etcd');
      const second = await probing.probe();
      assert.equal(second.reachable, false, 'two are a silent one');
      assert.match(second.reason ?? '', /etcd unreachable: .*DEADLINE_EXCEEDED/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => (await probing.probe()).reachable || undefined, { what: 'etcd reachable again' });
  });

  it('fails fast with "unavailable, nothing was sent" while etcd is unreachable', async () => {
    const client = createEtcdClient(`https://127.0.0.1:${await freePort()}`, { dialTimeout: 500 });
    try {
      const unreachable = new EtcdHealth(client, 1000, 500);
      const state = await unreachable.probe();
      assert.equal(state.reachable, false);
      await assert.rejects(new ObjectStore(client, { health: unreachable }).create(service('never')), (error: Error) => {
        assert.ok(error instanceof StoreUnavailableError);
        assert.equal(error.outcome, 'not-applied');
        assert.match(error.message, /nothing was sent/); // refused by the health state, not by a deadline
        return true;
      });
    } finally {
      client.close();
    }
  });
});
