/** The pause routes on a real etcd: spec.paused set and cleared, idempotent, refused where nothing runs, edit role needed. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

describe('replica pause routes', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
    await api.addNode('node-1', 19811);
    await api.addReplica('web-a', { service: 'web', image: 'busybox', nodeName: 'node-1' });
    await api.addReplica('web-pending', { service: 'web', image: 'busybox' });
  });
  after(async () => {
    await api?.close();
  });

  const post = async (path: string, token?: string) => {
    const response = await api.fetch(path, { method: 'POST', ...(token ? { token } : {}) });
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  };
  const stored = () => api.store.get<Replica>('Replica', 'default', 'web-a').then((r) => r!);

  it('pauses and unpauses a scheduled replica, twice each without a change', async () => {
    const paused = await post('/api/v1/replicas/web-a/pause');
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal((await stored()).spec.paused, true);
    const version = (await stored()).metadata.resourceVersion;
    assert.equal((await post('/api/v1/replicas/web-a/pause')).status, 200);
    assert.equal((await stored()).metadata.resourceVersion, version, 'a second pause writes nothing');
    assert.equal((await post('/api/v1/replicas/web-a/unpause')).status, 200);
    assert.equal((await stored()).spec.paused, undefined);
    assert.equal((await post('/api/v1/replicas/web-a/unpause')).status, 200);
  });

  it('refuses an unscheduled or missing replica, and a view token', async () => {
    const pending = await post('/api/v1/replicas/web-pending/pause');
    assert.deepEqual([pending.status, pending.body.error], [409, 'replica "web-pending" cannot be paused: it is not scheduled on a node yet']);
    assert.equal((await post('/api/v1/replicas/nope/pause')).status, 404);
    const view = await api.token('view', 'default');
    assert.equal((await post('/api/v1/replicas/web-a/pause', view)).status, 403);
    const edit = await api.token('edit', 'default');
    assert.equal((await post('/api/v1/replicas/web-a/pause', edit)).status, 200);
  });
});
