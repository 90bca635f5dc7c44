/**
 * The cache's initial load in pages, its indexes, and `fresh()`, against a real etcd: a cluster
 * larger than one etcd response loads whole and consistent, through a client whose message limit
 * is far below the cluster's size.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { Node, Replica } from '@tide/api';
import { ClusterCache } from './cluster.cache';
import { NodeLeases } from './node.leases';
import { ObjectStore } from './object.store';
import { DEFAULT_PAGE_SIZE } from './paged.range';
import { TestEtcd, startTestEtcd } from './testing';

const REPLICAS = 2 * DEFAULT_PAGE_SIZE + 300;

function replica(i: number): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: `web-${String(i).padStart(5, '0')}`, namespace: 'default' },
    spec: {
      service: i % 3 === 0 ? 'api' : 'web', templateHash: 'h', nodeName: `n${i % 4}`,
      template: { image: 'busybox', env: { PADDING: 'x'.repeat(1500) } } as unknown as Replica['spec']['template'],
    },
  };
}

const node = (name: string): Node => ({
  apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1' },
  status: { ready: true, capacity: { cpu: 1000, memory: 1 }, allocatable: { cpu: 1000, memory: 1 } },
});

describe('ClusterCache initial load and reads', { timeout: 120_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  let small: Etcd3;
  let cache: ClusterCache;
  let leases: NodeLeases;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    for (let i = 0; i < REPLICAS; i += 100) {
      await store.createAll(Array.from({ length: Math.min(100, REPLICAS - i) }, (_, j) => replica(i + j)));
    }
    await store.createAll([node('n0'), node('n1')]);
    leases = new NodeLeases(etcd.client, 30);
    await leases.grant('n0');
    // About 2 MiB of replicas through a client that takes 256 KiB per message: only pages get through.
    small = etcd.connect({ grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 } });
    cache = new ClusterCache(small);
    await cache.start();
  });
  after(async () => {
    await cache?.stop();
    leases?.close();
    small?.close();
    await etcd?.stop();
  });

  it('loads more objects than one page and one message hold, every one once', () => {
    const names = cache.list('Replica').map((r) => r.metadata.name);
    assert.equal(names.length, REPLICAS);
    assert.equal(new Set(names).size, REPLICAS);
    assert.equal(cache.list('Node').length, 2);
  });

  it('indexes replicas by service and by node, and follows moves between them', async () => {
    assert.equal(cache.replicasOf('default', 'api').length, Math.ceil(REPLICAS / 3));
    assert.equal(cache.replicasOf('default', 'web').length, REPLICAS - Math.ceil(REPLICAS / 3));
    assert.equal(cache.replicasOf('other', 'web').length, 0);
    assert.equal(cache.replicasOn('n1').length, REPLICAS / 4);
    const moved = (await store.get<Replica>('Replica', 'default', 'web-00000'))!;
    const updated = await store.update({ ...moved, spec: { ...moved.spec, service: 'web', nodeName: 'n9' } });
    await cache.waitFor(Number(updated.metadata.resourceVersion));
    assert.equal(cache.replicasOf('default', 'api').length, Math.ceil(REPLICAS / 3) - 1);
    assert.deepEqual(cache.replicasOn('n9').map((r) => r.metadata.name), ['web-00000']);
    assert.equal(cache.replicasOn('n0').length, REPLICAS / 4 - 1);
  });

  it('knows which nodes hold a live lease', async () => {
    assert.deepEqual([...cache.aliveNodes()], ['n0']);
    await leases.grant('n1');
    await cache.fresh();
    assert.deepEqual([...cache.aliveNodes()].sort(), ['n0', 'n1']);
  });

  it('fresh(): holds every write committed before the call, also when the newest revision is outside /tide/v1/', async () => {
    await store.create(node('n2'));
    await cache.fresh();
    assert.ok(cache.get('Node', 'default', 'n2'), 'a write of just before is there');
    // The leader election writes outside /tide/v1/: the cache must still reach that revision, not wait out the timeout.
    await etcd.client.put('election/elsewhere').value('x');
    const started = Date.now();
    await cache.fresh(10_000);
    assert.ok(Date.now() - started < 2000, `fresh() took ${Date.now() - started} ms`);
    assert.equal(cache.revision, Number((await etcd.client.get('election/elsewhere').exec()).header.revision));
  });
});
