/** The control plane's cache and the binding commit, against a real etcd. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import { ClusterCache } from './cluster.cache';
import { ObjectStore } from './object.store';
import { TestEtcd, startTestEtcd } from './testing';

function replica(name: string, nodeName?: string): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'default' },
    spec: { service: 'web', templateHash: 'h', nodeName, template: {} as Replica['spec']['template'] },
    status: { phase: 'Pending', ready: false, restartCount: 0 },
  };
}

const service = (name: string): Service => ({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { replicas: 1, image: 'busybox' } });

describe('ClusterCache and binding commits on etcd', { timeout: 180_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  let cache: ClusterCache;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    await store.create(replica('listed', 'n1'));
    cache = new ClusterCache(etcd.client);
    await cache.start();
  });
  after(async () => {
    await cache?.stop();
    await etcd?.stop();
  });

  it('lists at start, follows puts and deletes, and indexes replicas by node', async () => {
    assert.deepEqual(cache.replicasOn('n1').map((r) => r.metadata.name), ['listed']);
    const created = await store.create(replica('moved', 'n1'));
    await store.update({ ...created, spec: { ...created.spec, nodeName: 'n2' } });
    const { revision } = await store.createAll([service('a'), service('b')]);
    await store.delete('Replica', 'default', 'listed');
    await cache.waitFor(revision + 1, 60_000);
    assert.deepEqual(cache.replicasOn('n1'), []);
    assert.deepEqual(cache.replicasOn('n2').map((r) => r.metadata.name), ['moved']);
    assert.deepEqual(cache.list('Service').map((s) => s.metadata.name).sort(), ['a', 'b']);
    assert.equal(cache.get('Replica', 'default', 'moved')?.spec.nodeName, 'n2');
  });

  it('creates a batch only when no name is taken', async () => {
    assert.equal((await store.createAll([service('c'), service('a')])).created, false);
    assert.equal(await store.get('Service', 'default', 'c'), undefined, 'nothing of a refused batch is written');
  });

  it('commits bindings once per record revision: the second of two schedulers deciding alike is refused', async () => {
    const one = await store.create(replica('one'));
    const two = await store.create(replica('two'));
    const bind = (r: Replica) => ({ ...r, spec: { ...r.spec, nodeName: 'n9' } });
    const first = await store.commitBindings([{ node: 'n9', expectedRevision: 0, requested: { cpu: 1, memory: 1 }, sequence: 1, replicas: [bind(one)] }]);
    const second = await store.commitBindings([{ node: 'n9', expectedRevision: 0, requested: { cpu: 1, memory: 1 }, sequence: 1, replicas: [bind(two)] }]);
    assert.equal(first.committed, true);
    assert.equal(second.committed, false, 'the node record changed since revision 0');
    assert.equal((await store.get<Replica>('Replica', 'default', 'two'))?.spec.nodeName, undefined, 'nothing of the refused transaction is written');
    await cache.waitFor(second.revision, 60_000);
    assert.equal(cache.allocation('n9')?.revision, first.revision);
    assert.deepEqual(cache.allocation('n9')?.requested, { cpu: 1, memory: 1 });
    const again = await store.commitBindings([{ node: 'n9', expectedRevision: first.revision, requested: { cpu: 2, memory: 2 }, sequence: 2, replicas: [bind(one)] }]);
    assert.equal(again.committed, false, 'replica "one" changed since it was read');
  });

  it('creates replicas bound in a binding commit, and refuses one whose name is taken', async () => {
    const expected = cache.allocation('n8')?.revision ?? 0;
    const created = await store.commitBindings([{ node: 'n8', expectedRevision: expected, requested: { cpu: 1, memory: 1 }, sequence: 1, replicas: [replica('fresh', 'n8')] }]);
    assert.equal(created.committed, true);
    assert.equal((await store.get<Replica>('Replica', 'default', 'fresh'))?.spec.nodeName, 'n8');
    await cache.waitFor(created.revision, 60_000);
    assert.deepEqual(cache.replicasOn('n8').map((r) => r.metadata.name), ['fresh']);
    const taken = await store.commitBindings([{ node: 'n8', expectedRevision: created.revision, requested: { cpu: 2, memory: 2 }, sequence: 2, replicas: [replica('fresh', 'n8')] }]);
    assert.equal(taken.committed, false, 'a replica of that name exists');
    assert.equal(cache.allocation('n8')?.revision, created.revision, 'nothing of the refused transaction is written');
  });

  it('lists again after its watch fails, missing nothing written meanwhile', async () => {
    const heard: string[] = [];
    const unsubscribe = cache.onChange((change) => heard.push(change.kind));
    (cache as unknown as { watcher: { emit(event: string, error: Error): void } }).watcher.emit('error', new Error('required revision has been compacted'));
    const written = await store.create(service('during-resync'));
    // The relist fills the cache, then watches again, then tells its listeners: wait for all of it.
    await waitFor(() => cache.get('Service', 'default', 'during-resync') && heard.includes('resync'), {
      what: 'the service written while the watch was down in the cache, and listeners told of the relist', detail: () => heard.join(', ') });
    unsubscribe();
    await cache.waitFor(Number(written.metadata.resourceVersion), 60_000);
    assert.ok(cache.revision >= Number(written.metadata.resourceVersion));
  });
});
