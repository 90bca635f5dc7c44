/** The agent's image endpoints over HTTP, against the in-memory image service. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { BuildStreamLine } from '@tide/api';
import { FAKE_ARCHIVE_MAGIC, FakeImageService } from '../testing/fake.image.service';
import { FakeRuntime } from '@tide/runtime/testing';
import { tarArchive } from '../testing/tar.builder';
import { TestAgentPki, makeTestAgentPki } from '../testing/agent.pki';
import { AgentHttpServer, startAgentHttp } from './agent.http';

describe('agent image endpoints', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-images-'));
  const scratchDir = path.join(dir, 'scratch');
  const images = new FakeImageService();
  let server: AgentHttpServer;
  let base: string;
  let pki: TestAgentPki;
  // As the control plane, the only caller of the image endpoints.
  const fetch = (url: string, init?: RequestInit) => pki.fetch(url, init);
  const post = (pathAndQuery: string, body: Buffer | string) => fetch(base + pathAndQuery, { method: 'POST', body });
  const contextTar = (files: Record<string, string>) => {
    const context = fs.mkdtempSync(path.join(dir, 'context-'));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(context, name), text);
    return execFileSync('tar', ['-C', context, '-cf', '-', '.']);
  };
  const buildLines = async (response: Response) => (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as BuildStreamLine);

  before(async () => {
    const runtime = new FakeRuntime();
    pki = await makeTestAgentPki(path.join(dir, 'pki'));
    server = await startAgentHttp({
      tls: pki.tls, auth: pki.auth(),
      address: '127.0.0.1', port: 0, registry: new Registry(), scratchDir, images,
      logPath: () => undefined, health: () => ({ ok: true, text: 'ok' }), exec: (ns, name, o) => runtime.exec(`${ns}.${name}`, o),
    });
    base = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    await pki.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports an archive sent as the body, lists it, exports it, removes it', async () => {
    const imported = await post('/v1/images/import', `${FAKE_ARCHIVE_MAGIC}\nweb:1\nweb:2\n`);
    assert.equal(imported.status, 200);
    assert.deepEqual(((await imported.json()) as { images: { ref: string }[] }).images.map((i) => i.ref), ['web:1', 'web:2']);
    const listed = (await (await fetch(`${base}/v1/images`)).json()) as { items: { ref: string }[] };
    assert.deepEqual(listed.items.map((i) => i.ref), ['web:1', 'web:2']);
    const exported = await fetch(`${base}/v1/images/${encodeURIComponent('web:1')}/export`);
    assert.equal(exported.headers.get('content-type'), 'application/x-tar');
    assert.equal(await exported.text(), `${FAKE_ARCHIVE_MAGIC}\nweb:1\n`);
    const removed = await fetch(`${base}/v1/images/${encodeURIComponent('web:1')}`, { method: 'DELETE' });
    assert.deepEqual(await removed.json(), { deleted: 'web:1' });
    assert.deepEqual([...images.images.keys()], ['web:2']);
    assert.deepEqual(fs.readdirSync(scratchDir), [], 'the uploaded archive is removed');
  });

  it('answers 404 for an unknown image and 400 for a bad or empty archive', async () => {
    const missing = await fetch(`${base}/v1/images/nope%3A1`, { method: 'DELETE' });
    assert.deepEqual([missing.status, await missing.json()], [404, { error: 'image "nope:1" not found on this node' }]);
    assert.equal((await fetch(`${base}/v1/images/nope%3A1/export`)).status, 404);
    const bad = await post('/v1/images/import', 'garbage');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /not an image archive/);
    const empty = await post('/v1/images/import', '');
    assert.deepEqual([empty.status, await empty.json()], [400, { error: 'the request body is empty: send an image archive (tar)' }]);
  });

  it('builds from an uploaded context, streaming log lines and then one result line', async () => {
    const response = await post('/v1/images/build?tag=app:1', contextTar({ Dockerfile: 'FROM busybox\nCOPY app.js /app.js\nCMD ["sh"]\n', 'app.js': 'x' }));
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    const lines = await buildLines(response);
    assert.deepEqual(lines.slice(0, 4), [
      { log: 'Step 1/3 : FROM busybox' }, { log: 'Step 2/3 : COPY app.js /app.js' }, { log: 'Step 3/3 : CMD ["sh"]' }, { log: 'Successfully tagged app:1' },
    ]);
    const last = lines.at(-1) as { result: { ok: boolean; image: { ref: string } } };
    assert.equal(last.result.ok, true);
    assert.equal(last.result.image.ref, 'app:1');
    assert.deepEqual(images.lastContext, ['Dockerfile', 'app.js']);
    assert.deepEqual(fs.readdirSync(scratchDir), [], 'the context is removed after the build');
  });

  it('ends a failing build with a result that names the step, and honours dockerfile=', async () => {
    const response = await post('/v1/images/build?tag=app:2&dockerfile=build.df', contextTar({ 'build.df': 'FROM busybox\nRUN false\n' }));
    assert.equal(response.status, 200);
    const lines = await buildLines(response);
    assert.deepEqual(lines.at(-1), { result: { ok: false, error: 'step 2/2 "RUN false": exit code 1' } });
    assert.equal(lines.filter((line) => 'result' in line).length, 1);
  });

  it('refuses a bad tag, a missing Dockerfile and a hostile context with 400', async () => {
    const cases: [string, Buffer, RegExp][] = [
      ['/v1/images/build?tag=Bad_Name', contextTar({ Dockerfile: 'FROM busybox\n' }), /^tag: "Bad_Name": the name must be lowercase/],
      ['/v1/images/build', contextTar({ Dockerfile: 'FROM busybox\n' }), /^tag: an image reference is required/],
      ['/v1/images/build?tag=a:1&dockerfile=../x', contextTar({ Dockerfile: 'FROM busybox\n' }), /dockerfile: "\.\.\/x" must be a path inside the build context/],
      ['/v1/images/build?tag=a:1', contextTar({ other: 'x' }), /the build context has no Dockerfile/],
      ['/v1/images/build?tag=a:1', tarArchive([{ name: '../../escape', body: 'x' }]), /entry "\.\.\/\.\.\/escape": "\.\." would leave the destination directory/],
    ];
    for (const [url, body, message] of cases) {
      const response = await post(url, body);
      assert.equal(response.status, 400, url);
      assert.match(((await response.json()) as { error: string }).error, message);
    }
    assert.equal(fs.existsSync(path.join(dir, 'escape')), false);
  });
});
