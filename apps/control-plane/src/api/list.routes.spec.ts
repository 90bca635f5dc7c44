/**
 * The list routes answer from the control plane's cache, never from a list of a kind in etcd, and
 * still show a write made just before the request (read your writes). Events are not cached: they
 * are read in pages, and scoped to the object's own keys when the caller names it.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { IRangeRequest, IRangeResponse } from '@tide/store';
import { API_VERSION, Node, Replica, Service, TideEvent } from '@tide/api';
import { DEFAULT_PAGE_SIZE } from '@tide/store';
import { EventRecorder } from '../controllers/events.recorder';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

describe('list routes on the cache', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  const ranges: IRangeRequest[] = [];

  before(async () => {
    api = await startApiHarness();
    const kv = api.store.client.kv as unknown as { range(req: IRangeRequest): Promise<IRangeResponse> };
    const original = kv.range.bind(kv);
    kv.range = (req: IRangeRequest) => {
      ranges.push(req);
      return original(req);
    };
  });
  after(async () => {
    await api?.close();
  });

  const get = async <T>(path: string): Promise<T> => {
    const response = await api.fetch(path);
    assert.equal(response.status, 200, `${path}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as T;
  };
  const spans = () => ranges.filter((r) => r.range_end && r.range_end.length > 0)
    .map((r) => ({ key: r.key!.toString(), limit: Number(r.limit) }));

  it('shows what was written just before, in key order, reading no kind from etcd', async () => {
    const service = (name: string, namespace = 'default') => ({ apiVersion: API_VERSION, kind: 'Service', metadata: { name, namespace }, spec: { replicas: 1, image: 'busybox' } }) as Service;
    await api.store.create(service('web'));
    await api.store.create(service('api'));
    await api.store.create(service('web', 'shop'));
    await api.addNode('node-2', 19802);
    await api.addNode('node-1', 19801);
    await api.addReplica('web-b', { service: 'web', image: 'busybox', nodeName: 'node-1' });
    await api.addReplica('web-a', { service: 'web', image: 'busybox', nodeName: 'node-2' });
    await api.addReplica('api-a', { service: 'api', image: 'busybox' });
    ranges.length = 0;

    const names = <T extends { metadata: { name: string; namespace: string } }>(items: T[]) => items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    assert.deepEqual(names((await get<{ items: Service[] }>('/api/v1/services')).items), ['default/api', 'default/web']);
    assert.deepEqual(names((await get<{ items: Service[] }>('/api/v1/services?namespace=all')).items), ['default/api', 'default/web', 'shop/web']);
    assert.deepEqual(names((await get<{ items: Replica[] }>('/api/v1/replicas?service=web')).items), ['default/web-a', 'default/web-b']);
    assert.deepEqual(names((await get<{ items: Replica[] }>('/api/v1/replicas')).items), ['default/api-a', 'default/web-a', 'default/web-b']);
    assert.deepEqual((await get<{ items: Node[] }>('/api/v1/nodes')).items.map((n) => n.metadata.name), ['node-1', 'node-2']);
    assert.equal((await get<unknown[]>('/api/v1/discovery/prometheus')).length, 2);
    assert.deepEqual((await get<{ remaining: { replica: string }[] }>('/api/v1/nodes/node-1/drain')).remaining.map((i) => i.replica), ['web-b']);

    await api.store.delete('Replica', 'default', 'web-b');
    assert.deepEqual(names((await get<{ items: Replica[] }>('/api/v1/replicas?service=web')).items), ['default/web-a'], 'a delete just before is seen too');
    assert.deepEqual(spans(), [], 'every etcd read was of one key');
  });

  it('reads events in pages, only the named object\'s keys when a name is given', async () => {
    const recorder = new EventRecorder(api.store, 'test');
    await recorder.record({ kind: 'Service', namespace: 'default', name: 'web' }, 'Normal', 'Scaled', 'one');
    await recorder.record({ kind: 'Service', namespace: 'default', name: 'webby' }, 'Normal', 'Scaled', 'other');
    await recorder.record({ kind: 'Service', namespace: 'default', name: 'web' }, 'Normal', 'Scaled', 'two');
    ranges.length = 0;
    const named = await get<{ items: TideEvent[] }>('/api/v1/events?kind=Service&name=web');
    assert.deepEqual(named.items.map((e) => e.spec.message), ['one', 'two']);
    assert.deepEqual(spans(), [{ key: '/tide/v1/events/default/web.', limit: DEFAULT_PAGE_SIZE }]);
    ranges.length = 0;
    assert.equal((await get<{ items: TideEvent[] }>('/api/v1/events')).items.length, 3);
    assert.deepEqual(spans(), [{ key: '/tide/v1/events/default/', limit: DEFAULT_PAGE_SIZE }]);
  });
});
