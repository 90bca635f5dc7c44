/** The store against a real etcd process. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import { ConflictError } from './errors';
import { ELECTION_NAME } from './keys';
import { LeaderElection } from './leader.election';
import { NodeLeases } from './node.leases';
import { ObjectStore, WatchEvent } from './object.store';
import { TestEtcd, startTestEtcd } from './testing';

function service(name: string, replicas = 1): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { replicas, image: 'busybox' } };
}

describe('ObjectStore on etcd', { timeout: 180_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
  });
  after(async () => etcd?.stop());

  it('creates with generation 1 and resourceVersion = mod revision', async () => {
    const created = await store.create(service('a'));
    assert.equal(created.metadata.generation, 1);
    const read = await store.get<Service>('Service', 'default', 'a');
    assert.equal(read?.metadata.resourceVersion, created.metadata.resourceVersion);
  });

  it('bumps generation on spec changes only, and refuses stale writes', async () => {
    const current = (await store.get<Service>('Service', 'default', 'a'))!;
    const scaled = await store.update({ ...current, spec: { ...current.spec, replicas: 3 } }, current);
    assert.equal(scaled.metadata.generation, 2);
    const statusOnly = await store.update({ ...scaled, status: { replicas: 3, readyReplicas: 0, runningReplicas: 0, pendingReplicas: 3 } }, scaled);
    assert.equal(statusOnly.metadata.generation, 2);
    await assert.rejects(store.update({ ...current, spec: { ...current.spec, replicas: 9 } }, current), ConflictError);
  });

  it('commits a batch only when no object changed', async () => {
    const b = await store.create(service('b'));
    const c = await store.create(service('c'));
    assert.equal((await store.updateAll([{ ...b, spec: { ...b.spec, replicas: 2 } }, { ...c, spec: { ...c.spec, replicas: 2 } }])).updated, true);
    assert.equal((await store.updateAll([{ ...b, spec: { ...b.spec, replicas: 5 } }])).updated, false, 'b is stale now');
    assert.equal((await store.get<Service>('Service', 'default', 'b'))?.spec.replicas, 2);
  });

  it('watches puts and deletes', async () => {
    const events: WatchEvent<Service>[] = [];
    const watcher = await store.watch<Service>('Service', (e) => events.push(e));
    await store.create(service('w'));
    await store.delete('Service', 'default', 'w');
    await waitFor(() => events.length >= 2, { what: 'two watch events', detail: () => JSON.stringify(events.map((e) => e.type)) });
    await watcher.cancel();
    assert.deepEqual(events.map((e) => e.type), ['put', 'delete']);
  });

  it('expires a node lease without heartbeats and keeps it with them', async () => {
    // The kept node's heartbeats come far more often than its 4 s lease needs, even on a loaded machine.
    const leases = new NodeLeases(etcd.client, 4);
    await leases.grant('kept');
    await leases.grant('dropped');
    const renewals: boolean[] = [];
    let beating = true;
    const heartbeats = (async () => {
      while (beating) {
        renewals.push(await leases.renew('kept'));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await waitFor(async () => !(await leases.alive()).has('dropped'), { what: 'the lease without heartbeats to expire' });
      assert.ok((await leases.alive()).has('kept'), 'the lease with heartbeats is kept');
    } finally {
      beating = false;
      await heartbeats;
      leases.close();
    }
    assert.ok(renewals.length > 0 && renewals.every(Boolean), `every heartbeat renewed the lease: ${renewals.join(', ')}`);
  });

  it('elects one leader of two and fails over when it resigns', async () => {
    const elected: string[] = [];
    const clients = [etcd.connect(), etcd.connect()];
    const [one, two] = ['one', 'two'].map((id, i) => new LeaderElection(clients[i], id, { onElected: () => elected.push(id), onLost: () => undefined }));
    one.start();
    await waitFor(() => one.isLeader, { what: 'the first candidate elected' });
    two.start();
    // Once the second candidate's key is queued behind the leader's, etcd cannot elect it while the leader holds.
    const candidates = async () => (await etcd.client.getAll().prefix(`election/${ELECTION_NAME}/`).keys()).length;
    await waitFor(async () => (await candidates()) === 2, { what: 'two candidates queued' });
    assert.deepEqual(elected, ['one']);
    assert.ok(one.isLeader && !two.isLeader);
    await one.resign();
    await waitFor(() => elected.length >= 2, { what: 'the second candidate elected', detail: () => elected.join(', ') });
    assert.deepEqual(elected, ['one', 'two']);
    await two.resign();
    clients.forEach((c) => c.close());
  });
});
