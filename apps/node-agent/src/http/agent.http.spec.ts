import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { FakeImageService } from '../testing/fake.image.service';
import { FakeRuntime } from '@tide/runtime/testing';
import { AgentHttpServer, isTrue, startAgentHttp } from './agent.http';

describe('agent HTTP endpoint', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-http-'));
  const logFile = path.join(dir, 'default.web-1.log');
  let server: AgentHttpServer;
  let base: string;
  let expired = 0;

  before(async () => {
    fs.writeFileSync(logFile, 'line 1\n');
    const runtime = new FakeRuntime();
    server = await startAgentHttp({
      address: '127.0.0.1', port: 0, registry: new Registry(), logPollMs: 20,
      logPath: (ns, name) => (ns === 'default' && name === 'web-1' ? logFile : undefined),
      health: () => ({ ok: true, text: 'ok' }),
      images: new FakeImageService(), exec: (ns, name, options) => runtime.exec(`${ns}.${name}`, options), scratchDir: path.join(dir, 'scratch'),
      expireSamples: () => expired++,
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
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

  it('reads follow flags', () => {
    assert.deepEqual(['1', 'true', '', '0', 'false', null].map(isTrue), [true, true, true, false, false, false]);
  });
});
