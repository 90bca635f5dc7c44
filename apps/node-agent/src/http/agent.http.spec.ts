import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Registry } from 'prom-client';
import { ImageStore } from '@tide/runtime';
import { FakeImageService } from '../testing/fake.image.service';
import { LogFiles } from '../logs/log.files';
import { ReplicaLog } from './log.routes';
import { FakeRuntime } from '@tide/runtime/testing';
import { Caller, TestAgentPki, makeTestAgentPki } from '../testing/agent.pki';
import { AgentHttpServer, isTrue, startAgentHttp } from './agent.http';

describe('agent HTTP endpoint', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-http-'));
  const logFile = path.join(dir, 'default.web-1.log');
  const dbLog: ReplicaLog = {
    current: path.join(dir, 'default.db-1.log'),
    files: (instance) => new LogFiles(dir, { maxSizeBytes: 100, maxFiles: 3 }).existing('default.db-1', instance),
  };
  let server: AgentHttpServer;
  let base: string;
  let expired = 0;
  const warmed: { network: string; starts: number }[] = [];
  let pki: TestAgentPki;
  const store = new ImageStore(path.join(dir, 'images'));
  const blob = Buffer.from('a layer blob\n');
  const blobDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const fetch = (url: string, init?: RequestInit & { as?: Caller }) => pki.fetch(url, init);

  before(async () => {
    fs.writeFileSync(logFile, 'line 1\n');
    const runtime = new FakeRuntime();
    pki = await makeTestAgentPki(path.join(dir, 'pki'));
    server = await startAgentHttp({
      tls: pki.tls, auth: pki.auth(),
      address: '127.0.0.1', port: 0, registry: new Registry(), logPollMs: 20,
      logPath: (ns, name) => {
        if (ns === 'default' && name === 'web-1') return logFile;
        if (ns === 'default' && name === 'db-1') return dbLog;
        return undefined;
      },
      health: () => ({ ok: true, text: 'ok' }),
      images: new FakeImageService(), imageStore: store, exec: (ns, name, options) => runtime.exec(`${ns}.${name}`, options), scratchDir: path.join(dir, 'scratch'),
      expireSamples: () => expired++, warm: (network, starts) => warmed.push({ network, starts }),
    });
    base = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    await pki.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a stored blob to a peer node over mTLS, not to a user token nor anonymously', async () => {
    await store.writeBlob(blob);
    const url = `${base}/v2/shop/web/blobs/${blobDigest}`;
    const peer = await fetch(url, { as: 'node' });
    assert.equal(peer.status, 200);
    assert.equal(peer.headers.get('docker-content-digest'), blobDigest);
    assert.equal(await peer.text(), 'a layer blob\n');
    assert.equal((await fetch(url, { as: 'admin' })).status, 403);
    assert.equal((await fetch(url, { as: 'none' })).status, 401);
  });

  it('boots inits ahead on the control plane\'s word (POST /v1/warm), refuses others and bad counts', async () => {
    const url = `${base}/v1/warm`;
    const post = (body: unknown, as?: Caller) => fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, ...(as ? { as } : {}) });
    const ok = await post({ network: 'bridge', starts: 6 });
    assert.equal(ok.status, 202);
    assert.deepEqual(warmed, [{ network: 'bridge', starts: 6 }]);
    assert.equal((await post({ network: 'bridge', starts: 6 }, 'admin')).status, 403);
    assert.equal((await post({ network: 'bridge', starts: 6 }, 'none')).status, 401);
    const bad = await post({ network: 'bridge', starts: 0 });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /starts: want a whole number from 1 to 1000, got 0/);
    assert.equal((await post({ network: 'overlay', starts: 2 })).status, 400);
    assert.equal((await fetch(url)).status, 405);
    assert.equal(warmed.length, 1, 'nothing asked but the first');
  });

  it('answers /healthz', async () => {
    const response = await fetch(`${base}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'ok\n');
  });

  it('serves the log of a replica, 404 for a replica not on the node', async () => {
    assert.equal(await (await fetch(`${base}/v1/logs/default/web-1`)).text(), 'line 1\n');
    const missing = await fetch(`${base}/v1/logs/default/nope`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /default\/nope is not on this node/);
  });

  it('serves the last N lines across rotated files, the previous container\'s, and refuses parameters it cannot read, naming them', async () => {
    const files = new LogFiles(dir, { maxSizeBytes: 100, maxFiles: 3 });
    fs.writeFileSync(`${files.path('default.db-1')}.1`, 'one\ntwo\n');
    fs.writeFileSync(files.path('default.db-1'), 'three\n');
    fs.writeFileSync(files.path('default.db-1', 'previous'), 'before the restart\n');
    assert.equal(await (await fetch(`${base}/v1/logs/default/db-1`)).text(), 'one\ntwo\nthree\n');
    assert.equal(await (await fetch(`${base}/v1/logs/default/db-1?tailLines=2`)).text(), 'two\nthree\n');
    assert.equal(await (await fetch(`${base}/v1/logs/default/db-1?previous=1`)).text(), 'before the restart\n');
    assert.equal(await (await fetch(`${base}/v1/logs/default/db-1?sinceTime=2024-01-01T00:00:00Z`)).text(), 'one\ntwo\nthree\n', 'no mark yet: all of it');
    for (const [query, error] of [['tailLines=-1', /tailLines: expected a number/], ['sinceTime=yesterday', /sinceTime: expected an RFC 3339 time/], ['previous=1&follow=1', /cannot be followed/]] as const) {
      const response = await fetch(`${base}/v1/logs/default/db-1?${query}`);
      assert.equal(response.status, 400, query);
      assert.match(await response.text(), error);
    }
  });

  it('follows appended lines until the reader goes away', async () => {
    const reader = new AbortController();
    const response = await fetch(`${base}/v1/logs/default/web-1?follow=1`, { signal: reader.signal });
    const stream = response.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) text += new TextDecoder().decode((await stream.read()).value);
    };
    await readUntil('line 1\n');
    fs.appendFileSync(logFile, 'line 2\n');
    await readUntil('line 2\n');
    assert.equal(text, 'line 1\nline 2\n');
    reader.abort();
  });

  it('reads the cgroups anew for a fresh scrape only, and refuses a fresh that is not a flag', async () => {
    expired = 0;
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
    assert.equal((await fetch(`${base}/metrics?fresh=0`)).status, 200);
    assert.equal(expired, 0, 'a plain scrape may share a recent sample');
    assert.equal((await fetch(`${base}/metrics?fresh=1`)).status, 200);
    assert.equal(expired, 1);
    const bad = await fetch(`${base}/metrics?fresh=yes`);
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), 'fresh: expected 1 or 0, got "yes"\n');
    assert.equal(expired, 1, 'a refused request changes nothing');
  });

  it('answers /healthz to anyone, everything else only with credentials (401 naming what to send)', async () => {
    assert.equal((await fetch(`${base}/healthz`, { as: 'none' })).status, 200);
    for (const route of ['/metrics', '/v1/logs/default/web-1', '/v1/images', '/nowhere']) {
      const response = await fetch(`${base}${route}`, { as: 'none' });
      assert.equal(response.status, 401, route);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="tide"');
      assert.match(((await response.json()) as { error: string }).error, /^no credentials: send a client certificate of the cluster CA/);
    }
    const foreign = await fetch(`${base}/metrics`, { as: 'other-ca' });
    assert.equal(foreign.status, 401, 'a certificate of another CA');
    assert.match(((await foreign.json()) as { error: string }).error, /^client certificate refused/);
    assert.equal((await fetch(`${base}/nowhere`)).status, 404, 'the control plane gets its 404');
  });

  it('serves logs and images to the control plane only, metrics to an administrator\'s certificate too', async () => {
    for (const as of ['node', 'admin'] as const) {
      for (const route of ['/v1/logs/default/web-1', '/v1/images']) {
        const response = await fetch(`${base}${route}`, { as });
        assert.equal(response.status, 403, `${as} ${route}`);
        assert.match(((await response.json()) as { error: string }).error, /served to the control plane only/);
      }
    }
    assert.equal((await fetch(`${base}/metrics`, { as: 'admin' })).status, 200);
    assert.equal((await fetch(`${base}/metrics`, { as: 'node' })).status, 403, 'a node does not read other nodes');
  });

  it('refuses tokens when it has no control plane to check them with', async () => {
    const response = await fetch(`${base}/metrics`, { as: 'none', headers: { authorization: `Bearer tide_${'a'.repeat(12)}_${'b'.repeat(43)}` } });
    assert.equal(response.status, 401);
    assert.match(((await response.json()) as { error: string }).error, /has no control plane to check tokens with/);
  });

  it('gives no answer in clear on its port', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: agent\r\n\r\n'));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
    });
    assert.doesNotMatch(reply, /HTTP\/1\.[01] \d{3}/);
  });

  it('reads follow flags', () => {
    assert.deepEqual(['1', 'true', '', '0', 'false', null].map(isTrue), [true, true, true, false, false, false]);
  });
});

describe('agent HTTPS endpoint with tokens checked by the control plane', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-token-'));
  const VIEW = `tide_${'1'.repeat(12)}_${'v'.repeat(43)}`;
  const asked: string[] = [];
  let server: AgentHttpServer;
  let pki: TestAgentPki;
  let base: string;
  const withToken = (route: string, token: string) => pki.fetch(`${base}${route}`, { as: 'none', headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    pki = await makeTestAgentPki(path.join(dir, 'pki'));
    const runtime = new FakeRuntime();
    server = await startAgentHttp({
      tls: pki.tls,
      auth: pki.auth(async (authorization) => {
        asked.push(authorization);
        return authorization === `Bearer ${VIEW}`
          ? { kind: 'user', name: 'token:111111111111', role: 'view' }
          : { allowed: false, status: 401, reason: 'unknown or revoked token' };
      }),
      address: '127.0.0.1', port: 0, registry: new Registry(), scratchDir: path.join(dir, 'scratch'),
      logPath: () => path.join(dir, 'none.log'), health: () => ({ ok: true, text: 'ok' }),
      images: new FakeImageService(), exec: (ns, name, options) => runtime.exec(`${ns}.${name}`, options),
    });
    base = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    await pki.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves metrics to a view token, never logs or images', async () => {
    assert.equal((await withToken('/metrics', VIEW)).status, 200);
    assert.equal((await withToken('/v1/logs/default/web-1', VIEW)).status, 403);
    assert.equal((await withToken('/v1/images', VIEW)).status, 403);
  });

  it('passes the control plane\'s refusal on, and does not ask it about a malformed token', async () => {
    const refused = await withToken('/metrics', `tide_${'2'.repeat(12)}_${'x'.repeat(43)}`);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: string }).error, 'unknown or revoked token');
    const count = asked.length;
    const malformed = await withToken('/metrics', 'hunter2');
    assert.equal(malformed.status, 401);
    assert.match(((await malformed.json()) as { error: string }).error, /malformed token/);
    assert.equal(asked.length, count);
  });
});
