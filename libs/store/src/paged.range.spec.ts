/**
 * Paged reads and fault handling against a real etcd: no read of a prefix arrives in one response,
 * a page too large for the client is read again smaller, and a failing call opens no breaker that
 * would stop the calls after it.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Etcd3, GRPCResourceExhastedError, GRPCUnavailableError } from 'etcd3';
import { Replica, Service } from '@tide/api';
import { HOST_FAILURES_TO_OPEN, createEtcdClient } from './etcd.client';
import { kindPrefix } from './keys';
import { ObjectStore } from './object.store';
import { rangeAll, rangePages } from './paged.range';
import { TestEtcd, freePort, startTestEtcd } from './testing';

/** A replica of about 2 KiB, as a real one with its template and status is. */
function replica(name: string, service = 'web'): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name, namespace: 'default' },
    spec: { service, templateHash: 'h', template: { image: 'busybox', env: { PADDING: 'x'.repeat(2000) } } as unknown as Replica['spec']['template'] },
  };
}

const service = (name: string): Service => ({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { replicas: 1, image: 'busybox' } });

/** Writes `count` replicas, 100 per transaction. */
async function writeReplicas(store: ObjectStore, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => replica(`${prefix}-${String(i + j).padStart(5, '0')}`));
    assert.equal((await store.createAll(batch)).created, true);
  }
}

describe('paged reads on etcd', { timeout: 120_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  /** A client that refuses messages over 256 KiB: 1,200 replicas of 2 KiB are about ten times that. */
  let small: Etcd3;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    small = etcd.connect({ grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 } });
    await writeReplicas(store, 1200, 'r');
  });
  after(async () => {
    small?.close();
    await etcd?.stop();
  });

  it('reads a prefix in bounded pages that continue after the last key, all at one revision', async () => {
    const pages: number[] = [];
    let revision = 0;
    let written = 0;
    for await (const page of rangePages(etcd.client, kindPrefix('Replica'), { pageSize: 500 })) {
      pages.push(page.kvs.length);
      if (revision === 0) {
        revision = page.revision;
        // Written between the pages: not part of this read, which stays at the first page's revision.
        written = Number((await store.create(replica('r-99999'))).metadata.resourceVersion);
        await store.delete('Replica', 'default', 'r-00999');
      }
      assert.equal(page.revision, revision);
    }
    assert.deepEqual(pages, [500, 500, 200]);
    assert.ok(written > revision);
    const { items } = await store.list<Replica>('Replica', 'default', { pageSize: 300 });
    assert.equal(items.length, 1200, 'now: one created, one deleted');
    assert.equal(new Set(items.map((r) => r.metadata.name)).size, 1200, 'no key twice across pages');
    assert.ok(items.some((r) => r.metadata.name === 'r-99999') && !items.some((r) => r.metadata.name === 'r-00999'));
    await store.delete('Replica', 'default', 'r-99999');
    await store.create(replica('r-00999'));
  });

  it('reads again at half the size a page the client refuses as too large', async () => {
    await assert.rejects(small.getAll().prefix(kindPrefix('Replica')).exec(), GRPCResourceExhastedError, 'one response would be too large');
    const { kvs } = await rangeAll(small, kindPrefix('Replica'), { pageSize: 1000 });
    assert.equal(kvs.length, 1200);
    assert.deepEqual(kvs.map((kv) => kv.key.toString()), [...kvs.map((kv) => kv.key.toString())].sort(), 'in key order');
  });

  it('keeps every other call going after calls fail: no breaker opens for one too-large read', async () => {
    for (let i = 0; i < HOST_FAILURES_TO_OPEN * 2; i++) {
      await assert.rejects(small.getAll().prefix(kindPrefix('Replica')).exec(), GRPCResourceExhastedError);
    }
    assert.equal(await small.get(`${kindPrefix('Replica')}default/r-00001`).exists(), true, 'a small read right after goes through');
    await small.put('/tide/v1/test/after-failures').value('ok');
    assert.equal(await small.get('/tide/v1/test/after-failures').string(), 'ok');
  });

  it('scopes a list to a namespace and a name prefix, and reads keys alone when asked', async () => {
    await store.createAll([service('web'), service('web-canary'), service('webby'), { ...service('web'), metadata: { name: 'web', namespace: 'other' } }]);
    const scoped = await store.list<Service>('Service', 'default', { namePrefix: 'web-' });
    assert.deepEqual(scoped.items.map((s) => s.metadata.name), ['web-canary']);
    assert.deepEqual((await store.list<Service>('Service', 'other')).items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`), ['other/web']);
    await assert.rejects(store.list('Service', undefined, { namePrefix: 'web' }), /needs a namespace/);
    const keys = await rangeAll(etcd.client, kindPrefix('Service'), { keysOnly: true, pageSize: 2 });
    assert.equal(keys.kvs.length, 4);
    assert.ok(keys.kvs.every((kv) => kv.value.length === 0));
  });
});

describe('fault handling for a host that is down', { timeout: 30_000 }, () => {
  it('fails fast once a few calls in a row found the host unreachable', async () => {
    const client = createEtcdClient(`http://127.0.0.1:${await freePort()}`, { dialTimeout: 500 });
    try {
      const failures: unknown[] = [];
      for (let i = 0; i < HOST_FAILURES_TO_OPEN + 2; i++) failures.push(await client.get('k').string().catch((error: unknown) => error));
      assert.ok(failures[0] instanceof GRPCUnavailableError, `the first call sees the host down: ${String(failures[0])}`);
      const started = Date.now();
      const last = await client.get('k').string().catch((error: Error) => error);
      assert.ok(last instanceof Error && /circuit breaker is open/i.test(last.message), `then the host is skipped: ${String(last)}`);
      assert.ok(Date.now() - started < 200, 'without waiting on the connection');
    } finally {
      client.close();
    }
  });
});
