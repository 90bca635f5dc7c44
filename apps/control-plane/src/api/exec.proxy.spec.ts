/** The exec upgrade through the control plane: found replica → its node's agent, bytes spliced both ways. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type * as tls from 'node:tls';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { StandInAgent, startStandInAgent } from '../testing/stand-in.agent';

type Opened = { upgraded: true; socket: tls.TLSSocket; head: Buffer } | { upgraded: false; status: number; body: string; head: string };

interface OpenOptions {
  upgrade?: string;
  /** The bearer token (default the admin's; null: none). */
  token?: string | null;
  host?: string;
}

/** The handshake written and read by hand (over TLS), so that the test sees exactly the bytes on the wire. */
async function openExec(api: ApiHarness, path: string, options: OpenOptions = {}): Promise<Opened> {
  const socket = await api.connect();
  const token = options.token === undefined ? api.adminToken : options.token;
  return new Promise((resolve, reject) => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${options.host ?? `127.0.0.1:${api.port}`}\r\n${token === null ? '' : `Authorization: Bearer ${token}\r\n`}`
      + `Connection: Upgrade\r\nUpgrade: ${options.upgrade ?? 'tide-exec'}\r\n\r\n`);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(received.toString('latin1'))?.[1]);
      if (status !== 101) return; // an ordinary answer: read to its end (Connection: close)
      socket.off('data', onData);
      resolve({ upgraded: true, socket, head: received.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('end', () => {
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      resolve({ upgraded: false, status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), head: text.slice(0, end), body: text.slice(end + 4) });
    });
    socket.on('error', reject);
  });
}

describe('exec proxy', { timeout: 300_000 }, () => {
  let api: ApiHarness;
  let agent: StandInAgent;

  before(async () => {
    api = await startApiHarness();
    agent = await startStandInAgent(api.pki, 'node-1');
    await api.addNode('node-1', agent.port);
    agent.replicas.add('default/web-abc12-x1');
    await api.addReplica('web-abc12-x1', { service: 'web', image: 'busybox', nodeName: 'node-1' });
    await api.addReplica('gone-abc12-x1', { service: 'gone', image: 'busybox', nodeName: 'node-1' });
    await api.addReplica('pending-abc12-x1', { service: 'pending', image: 'busybox' });
  });
  after(async () => {
    await agent?.close();
    await api?.close();
  });

  it('splices the caller to the agent of the replica\'s node, byte for byte, with the query passed on', async () => {
    const opened = await openExec(api, '/api/v1/replicas/web-abc12-x1/exec?namespace=default&command=sh&command=-c&command=echo%20hi&tty=1&stdin=1&rows=24&cols=80');
    assert.ok(opened.upgraded);
    assert.equal(agent.requests.at(-1), 'UPGRADE /v1/exec/default/web-abc12-x1?command=sh&command=-c&command=echo+hi&tty=1&stdin=1&rows=24&cols=80');
    const bytes = Buffer.from([0, 0, 0, 0, 3, 0xff, 0x00, 0x7f]);
    let echoed = Buffer.alloc(0);
    opened.socket.on('data', (chunk: Buffer) => (echoed = Buffer.concat([echoed, chunk])));
    const closed = new Promise((resolve) => opened.socket.on('close', resolve));
    opened.socket.write(bytes);
    opened.socket.write('bye');
    await closed;
    assert.deepEqual(Buffer.concat([opened.head, echoed]), Buffer.concat([bytes, Buffer.from('bye')]), 'every byte came back, and the agent\'s end ended the session');
    assert.equal(agent.callers.at(-1), 'system:tide-control-plane', 'the agent saw the control plane\'s client certificate');
  });

  const refusals: [string, string, number, RegExp][] = [
    ['an unknown replica', '/api/v1/replicas/nope/exec?command=sh', 404, /^replica "nope" not found in namespace "default"$/],
    ['a replica of another namespace', '/api/v1/replicas/web-abc12-x1/exec?namespace=other&command=sh', 404, /namespace "other"/],
    ['no command', '/api/v1/replicas/web-abc12-x1/exec', 400, /^command: give the command to run/],
    ['an unscheduled replica', '/api/v1/replicas/pending-abc12-x1/exec?command=sh', 400, /is not scheduled yet/],
    ['a replica its agent does not run (the agent\'s 404)', '/api/v1/replicas/gone-abc12-x1/exec?command=sh', 404, /^replica default\/gone-abc12-x1 is not running on this node$/],
    ['another upgrade path', '/api/v1/replicas/web-abc12-x1/logs', 404, /no upgrade endpoint/],
  ];
  for (const [what, path, status, message] of refusals) {
    it(`answers ${status} for ${what}`, async () => {
      const opened = await openExec(api, path);
      assert.ok(!opened.upgraded, 'no upgrade');
      assert.equal(opened.status, status);
      assert.match((JSON.parse(opened.body) as { error: string }).error, message);
    });
  }

  it('refuses another upgrade protocol and a plain GET with 400', async () => {
    const websocket = await openExec(api, '/api/v1/replicas/web-abc12-x1/exec?command=sh', { upgrade: 'websocket' });
    assert.deepEqual(websocket.upgraded ? 'upgraded' : websocket.status, 400);
    const plain = await api.fetch(`/api/v1/replicas/web-abc12-x1/exec?command=sh`);
    assert.equal(plain.status, 400);
    assert.match(((await plain.json()) as { error: string }).error, /needs an HTTP\/1\.1 upgrade/);
  });

  it('authenticates and authorizes the caller before anything reaches the agent, and audits it', async () => {
    const path = '/api/v1/replicas/web-abc12-x1/exec?command=sh';
    const before = agent.requests.length;
    const anonymous = await openExec(api, path, { token: null });
    assert.ok(!anonymous.upgraded);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.head, /^WWW-Authenticate: Bearer realm="tide"$/m);
    assert.match((JSON.parse(anonymous.body) as { error: string }).error, /^no credentials/);
    const viewer = await openExec(api, path, { token: await api.token('view') });
    assert.deepEqual(viewer.upgraded ? 'upgraded' : [viewer.status, (JSON.parse(viewer.body) as { error: string }).error],
      [403, 'role view may not create replicas/exec: it is read-only']);
    const elsewhere = await openExec(api, path, { token: await api.token('edit', 'team-a') });
    assert.deepEqual(elsewhere.upgraded ? 'upgraded' : elsewhere.status, 403);
    const rebound = await openExec(api, path, { host: 'evil.example' });
    assert.deepEqual(rebound.upgraded ? 'upgraded' : rebound.status, 421);
    assert.equal(agent.requests.length, before, 'the agent saw none of them');
    const audit = fs.readFileSync(api.auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { resource: string; result: string; status: number });
    const execs = audit.filter((line) => line.resource === 'replicas/exec');
    assert.ok(execs.some((line) => line.result === 'succeeded' && line.status === 101), 'the admitted exec of the first test');
    assert.ok(execs.some((line) => line.result === 'unauthenticated' && line.status === 401));
    assert.ok(execs.some((line) => line.result === 'forbidden' && line.status === 403));
  });

  it('says so at once when the node\'s agent is down', async () => {
    await agent.close();
    const opened = await openExec(api, '/api/v1/replicas/web-abc12-x1/exec?command=sh');
    assert.ok(!opened.upgraded);
    assert.equal(opened.status, 502);
    assert.match((JSON.parse(opened.body) as { error: string }).error, /^node node-1 \(agent at 127\.0\.0\.1:\d+\) unreachable: ECONNREFUSED$/);
  });
});
