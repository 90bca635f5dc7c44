/** The image routes of the HTTP API against stand-in agents on real sockets and a real etcd. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { BuildStreamLine, ClusterImage, NodeResult } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { ARCHIVE_MAGIC, StandInAgent, add, startStandInAgent } from '../testing/stand-in.agent';

describe('image routes', { timeout: 300_000 }, () => {
  let api: ApiHarness;
  let one: StandInAgent;
  let two: StandInAgent;
  let notReady: StandInAgent;

  before(async () => {
    api = await startApiHarness();
    [one, two, notReady] = await Promise.all(['node-1', 'node-2', 'node-3'].map((node) => startStandInAgent(api.pki, node)));
    await api.addNode('node-1', one.port);
    await api.addNode('node-2', two.port);
    await api.addNode('node-3', notReady.port, false);
  });
  after(async () => {
    await Promise.all([one, two, notReady].map((agent) => agent?.close()));
    await api?.close();
  });

  const call = async (method: string, path: string, body?: string) => {
    const response = await api.fetch(path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/x-tar' } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('imports an archive on every Ready node and answers per node', async () => {
    const { status, body } = await call('POST', '/api/v1/images/import', `${ARCHIVE_MAGIC}\nweb:1\n`);
    assert.equal(status, 200);
    const results = body.results as NodeResult<{ ref: string }[]>[];
    assert.deepEqual(results.map((r) => [r.node, r.ok, r.value?.map((i) => i.ref)]), [['node-1', true, ['web:1']], ['node-2', true, ['web:1']]]);
    assert.equal(notReady.requests.length, 0, 'a NotReady node is left alone');
  });

  it('answers 400 when every node refuses the archive, and for an empty body', async () => {
    const bad = await call('POST', '/api/v1/images/import', 'garbage');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'node-1: archive.tar: no index.json or manifest.json');
    const empty = await call('POST', '/api/v1/images/import', '');
    assert.deepEqual([empty.status, empty.body.error], [400, 'the request body is empty: send an image archive (tar)']);
  });

  it('lists one row per ref and id with the nodes holding it', async () => {
    add(one.images, 'db:2', 'sha256:aaaa');
    add(two.images, 'db:2', 'sha256:bbbb');
    const { body } = await call('GET', '/api/v1/images');
    const rows = (body.items as ClusterImage[]).map((i) => [i.ref, i.id.slice(0, 11), i.nodes.join(',')]);
    assert.deepEqual(rows, [['db:2', 'sha256:aaaa', 'node-1'], ['db:2', 'sha256:bbbb', 'node-2'], ['web:1', 'sha256:7765', 'node-1,node-2']]);
    assert.deepEqual(body.errors, []);
  });

  it('says which node could not be reached instead of hanging: refused and silent agents', async () => {
    const silent = net.createServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    await api.addNode('node-8', closedPort);
    await api.addNode('node-9', (silent.address() as net.AddressInfo).port);
    try {
      // A hang would outlast the test's time limit; the error below says the per-node limit ended it.
      const { status, body } = await call('GET', '/api/v1/images');
      assert.equal(status, 200);
      const errors = body.errors as NodeResult[];
      assert.deepEqual(errors.map((e) => e.node), ['node-8', 'node-9']);
      assert.match(errors[0].error ?? '', /^node node-8 \(agent at 127\.0\.0\.1:\d+\) unreachable: ECONNREFUSED$/);
      assert.match(errors[1].error ?? '', /^node node-9 .* did not answer within 5 s$/);
      assert.ok((body.items as ClusterImage[]).some((i) => i.ref === 'web:1'), 'the reachable nodes are still listed');
    } finally {
      await api.removeNode('node-8');
      await api.removeNode('node-9');
      silent.close();
    }
  });

  it('talks to an agent only over mTLS and only when its certificate is its node\'s', async () => {
    assert.ok(one.callers.length > 0 && one.callers.every((name) => name === 'system:tide-control-plane'), one.callers.join());
    // node-7's address answers with node-1's certificate (another node squatting on its port): refused before any request.
    const impostor = await startStandInAgent(api.pki, 'node-7', 'node-1');
    await api.addNode('node-7', impostor.port);
    try {
      const { body } = await call('GET', '/api/v1/images');
      const errors = body.errors as NodeResult[];
      assert.deepEqual(errors.map((e) => e.node), ['node-7']);
      assert.match(errors[0].error ?? '', /presented the certificate of "system:node:node-1", not system:node:node-7/);
      assert.deepEqual(impostor.requests, []);
    } finally {
      await api.removeNode('node-7');
      await impostor.close();
    }
  });

  it('refuses to remove an image a live replica uses, naming its service; a replica being deleted does not count', async () => {
    await api.addReplica('web-abc12-x1', { service: 'web', image: 'web:1', nodeName: 'node-1' });
    await api.addReplica('old-abc12-x2', { service: 'old', image: 'db:2', nodeName: 'node-1', deleting: true });
    const refused = await call('DELETE', `/api/v1/images/${encodeURIComponent('web:1')}`);
    assert.deepEqual([refused.status, refused.body.error], [409, 'image "web:1" is in use by service default/web: delete or change it first']);
    assert.ok(one.images.has('web:1'), 'nothing removed');
    await api.store.delete('Replica', 'default', 'web-abc12-x1');
  });

  it('removes an image on every node, 404 when no node has it, 400 for a malformed reference', async () => {
    const removed = await call('DELETE', `/api/v1/images/${encodeURIComponent('web:1')}`);
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.body.results, [{ node: 'node-1', ok: true, value: 'deleted' }, { node: 'node-2', ok: true, value: 'deleted' }]);
    assert.equal(one.images.has('web:1') || two.images.has('web:1'), false);
    const missing = await call('DELETE', `/api/v1/images/${encodeURIComponent('web:1')}`);
    assert.deepEqual([missing.status, missing.body.error], [404, 'image "web:1" not found on any node']);
    const bad = await call('DELETE', `/api/v1/images/${encodeURIComponent('Web:1')}`);
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /"Web:1": the name must be lowercase/);
  });

  const build = async (query: string, context: string) => {
    const response = await api.fetch(`/api/v1/images/build${query}`, { method: 'POST', body: context, headers: { 'content-type': 'application/x-tar' } });
    return { status: response.status, lines: (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as BuildStreamLine) };
  };

  it('builds on one node, streams its log, then copies the image to the other Ready nodes', async () => {
    const { status, lines } = await build('?tag=app:1', 'FROM busybox\nRUN true\n');
    assert.equal(status, 200);
    assert.deepEqual(lines.slice(0, -1), [
      { log: 'Step 1/2 : FROM busybox' }, { log: 'Step 2/2 : RUN true' }, { log: 'Copying app:1 from node-1 to node-2' }, { log: 'node-2: has app:1' },
    ]);
    const last = lines.at(-1) as { result: { ok: boolean; node: string; distributed: NodeResult[] } };
    assert.deepEqual([last.result.ok, last.result.node, last.result.distributed], [true, 'node-1', [{ node: 'node-2', ok: true }]]);
    assert.ok(two.images.has('app:1'), 'the second node imported the export of the first');
    assert.ok(one.requests.includes(`GET /v1/images/${encodeURIComponent('app:1')}/export`));
  });

  it('ends a failed build with one failed result and copies nothing', async () => {
    const { lines } = await build('?tag=app:2', 'FROM busybox\nRUN false\n');
    assert.deepEqual(lines.at(-1), { result: { ok: false, error: 'step 2/2 "RUN false": exit code 1', node: 'node-1' } });
    assert.equal(two.images.has('app:2'), false);
  });

  it('refuses a build without a valid tag or with a dockerfile outside the context', async () => {
    const noTag = await api.fetch(`/api/v1/images/build`, { method: 'POST', body: 'x' });
    assert.deepEqual([noTag.status, ((await noTag.json()) as { error: string }).error], [400, 'tag: an image reference is required (NAME[:TAG])']);
    const outside = await api.fetch(`/api/v1/images/build?tag=a:1&dockerfile=/etc/passwd`, { method: 'POST', body: 'x' });
    assert.equal(outside.status, 400);
  });
});
