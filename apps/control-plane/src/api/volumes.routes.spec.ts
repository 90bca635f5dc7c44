/** GET and DELETE /api/v1/volumes: the named local volumes with their node, size and users; a view role may list, an edit role delete. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { API_VERSION, LocalVolumeView, Node, Replica, Service } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

describe('volumes route', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => {
    await api?.close();
  });

  const usingVolume = (name: string, namespace: string, volume: string, nodeName?: string) => api.store.create({
    apiVersion: API_VERSION, kind: 'Replica', metadata: { name, namespace },
    spec: {
      service: 'db', templateHash: 'abc', ...(nodeName ? { nodeName } : {}),
      template: { image: 'busybox', volumes: [{ name: 'data', localVolume: { name: volume } }], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    },
  } as unknown as Replica);

  it('lists each volume of the namespace with the node holding it, its reported size and the replicas using it', async () => {
    await api.addNode('node-1', 19811);
    await api.store.mutate<Node>('Node', 'default', 'node-1', (n) => ({ ...n, status: { ...n.status!, localVolumes: [{ namespace: 'shop', name: 'pgdata', sizeBytes: 8192 }] } }));
    await usingVolume('db-a', 'shop', 'pgdata', 'node-1');
    await usingVolume('db-b', 'shop', 'pgdata');
    await usingVolume('cache-a', 'other', 'cache', 'node-1');
    const view = await api.token('view', 'shop');
    const response = await api.fetch('/api/v1/volumes?namespace=shop', { token: view });
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(((await response.json()) as { items: LocalVolumeView[] }).items, [
      { namespace: 'shop', name: 'pgdata', node: 'node-1', sizeBytes: 8192, users: ['db-a', 'db-b'] },
    ]);
    const all = (await (await api.fetch('/api/v1/volumes?namespace=all')).json()) as { items: LocalVolumeView[] };
    assert.deepEqual(all.items.map((v) => `${v.namespace}/${v.name}@${v.node}`), ['other/cache@node-1', 'shop/pgdata@node-1']);
  });

  it('deletes only for edit, never while a Service mounts the volume, and names a node it cannot reach', async () => {
    const edit = await api.token('edit', 'shop');
    assert.equal((await api.fetch('/api/v1/volumes/pgdata?namespace=shop', { method: 'DELETE', token: await api.token('view', 'shop') })).status, 403);
    await api.store.create({
      apiVersion: API_VERSION, kind: 'Service', metadata: { name: 'db', namespace: 'shop' },
      spec: { replicas: 0, image: 'busybox', volumes: [{ name: 'data', localVolume: { name: 'pgdata' } }], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    } as unknown as Service);
    const inUse = await api.fetch('/api/v1/volumes/pgdata?namespace=shop', { method: 'DELETE', token: edit });
    assert.equal(inUse.status, 409);
    assert.match(((await inUse.json()) as { error: string }).error, /^volume "pgdata" is in use by service db in namespace shop/);
    await api.store.delete('Service', 'shop', 'db');
    // node-1 reported it and is Ready, but no agent listens at its address.
    const unreachable = await api.fetch('/api/v1/volumes/pgdata?namespace=shop', { method: 'DELETE', token: edit });
    assert.equal(unreachable.status, 502);
    assert.match(((await unreachable.json()) as { error: string }).error, /^node node-1: /);
  });

  it('refuses a caller without credentials, and a role of another namespace', async () => {
    assert.equal((await api.fetch('/api/v1/volumes', { token: null })).status, 401);
    assert.equal((await api.fetch('/api/v1/volumes?namespace=other', { token: await api.token('view', 'shop') })).status, 403);
  });
});
