/** Cordon, uncordon and drain routes of the HTTP API on a real etcd. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DrainProgress, Node } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

describe('node routes', { timeout: 300_000 }, () => {
  let api: ApiHarness;

  before(async () => {
    api = await startApiHarness();
    await api.addNode('node-1', 1);
    await api.addNode('node-2', 2);
    await api.addReplica('web-abcde-xxxxx', { service: 'web', image: 'busybox', nodeName: 'node-1' });
  });
  after(async () => api?.close());

  const call = async <T>(method: string, path: string) => {
    const response = await api.fetch(path, { method });
    return { status: response.status, body: (await response.json()) as T };
  };
  const stored = async (name: string) => (await api.store.get<Node>('Node', 'default', name))!;

  it('cordons and uncordons a node', async () => {
    const cordoned = await call<Node>('POST', '/api/v1/nodes/node-2/cordon');
    assert.equal(cordoned.status, 200);
    assert.equal(cordoned.body.spec.cordoned, true);
    assert.equal((await stored('node-2')).spec.cordoned, true);
    const uncordoned = await call<Node>('POST', '/api/v1/nodes/node-2/uncordon');
    assert.equal(uncordoned.body.spec.cordoned, false);
    assert.equal((await stored('node-2')).spec.cordoned, false);
  });

  it('starts a drain: cordoned, marked, and the progress lists what must move', async () => {
    const { status, body } = await call<DrainProgress>('POST', '/api/v1/nodes/node-1/drain');
    assert.equal(status, 200);
    assert.equal(body.cordoned, true);
    assert.equal(body.drain?.reason, 'Drain');
    assert.deepEqual(body.remaining.map((r) => [r.replica, r.message]), [['web-abcde-xxxxx', 'waiting for its turn to move']]);
    assert.equal(body.empty, false);
    const node = await stored('node-1');
    assert.equal(node.spec.cordoned, true);
    assert.equal(node.spec.drain?.reason, 'Drain');
    const again = await call<DrainProgress>('GET', '/api/v1/nodes/node-1/drain');
    assert.deepEqual(again.body.drain, node.spec.drain);
  });

  it('cancels a drain: the node stays cordoned', async () => {
    const { body } = await call<DrainProgress>('DELETE', '/api/v1/nodes/node-1/drain');
    assert.equal(body.drain, undefined);
    assert.equal(body.cordoned, true);
    assert.equal((await stored('node-1')).spec.drain, undefined);
  });

  it('uncordon also ends a drain', async () => {
    await call('POST', '/api/v1/nodes/node-1/drain');
    await call('POST', '/api/v1/nodes/node-1/uncordon');
    const node = await stored('node-1');
    assert.equal(node.spec.cordoned, false);
    assert.equal(node.spec.drain, undefined);
  });

  it('answers 404 naming an unknown node, and changes nothing', async () => {
    for (const [method, path] of [['POST', 'cordon'], ['POST', 'uncordon'], ['POST', 'drain'], ['GET', 'drain'], ['DELETE', 'drain']]) {
      const { status, body } = await call<{ error: string }>(method, `/api/v1/nodes/nope/${path}`);
      assert.equal(status, 404, `${method} ${path}`);
      assert.equal(body.error, 'node "nope" not found');
    }
    assert.equal(await api.store.get('Node', 'default', 'nope'), undefined);
  });
});
