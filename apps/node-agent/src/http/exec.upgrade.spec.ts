/** The agent's exec endpoint through a real socket: handshake, frames both ways, exit statuses. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { FrameType, encodeFrame, resizeFrame } from '@tide/api';
import { waitFor } from '@tide/api/testing';
import { RuntimeError } from '@tide/runtime';
import { openExec, readExec } from '../testing/exec.client';
import { FakeImageService } from '../testing/fake.image.service';
import { FakeRuntime } from '@tide/runtime/testing';
import { Caller, TestAgentPki, makeTestAgentPki } from '../testing/agent.pki';
import { AgentHttpServer, startAgentHttp } from './agent.http';

describe('agent exec endpoint', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-exec-'));
  const runtime = new FakeRuntime();
  let server: AgentHttpServer;
  let pki: TestAgentPki;
  const exec = (query: string) => openExec(server.port, `/v1/exec/default/web-1?${query}`, pki.connectOptions());
  const upgraded = async (query: string) => {
    const opened = await exec(query);
    assert.ok(opened.upgraded, `no upgrade: ${!opened.upgraded && opened.status} ${!opened.upgraded && opened.body}`);
    return opened;
  };

  before(async () => {
    runtime.seed({ id: 'default.web-1', hostname: 'web-1', image: 'busybox', argv: ['sleep', '1000'], env: {}, limits: {}, labels: {} });
    pki = await makeTestAgentPki(path.join(dir, 'pki'));
    server = await startAgentHttp({
      tls: pki.tls, auth: pki.auth(),
      address: '127.0.0.1', port: 0, registry: new Registry(), scratchDir: path.join(dir, 'scratch'),
      logPath: () => undefined, health: () => ({ ok: true, text: 'ok' }), images: new FakeImageService(),
      exec: async (ns, name, options) => {
        if (name !== 'web-1') throw new RuntimeError('NotFound', `replica ${ns}/${name} is not running on this node`);
        return runtime.exec(`${ns}.${name}`, options);
      },
    });
  });
  after(async () => {
    await server.close();
    await pki.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs a command and ends with its exit status', async () => {
    const { socket, head } = await upgraded('command=hostname');
    assert.deepEqual(await readExec(socket, head), { stdout: 'web-1\n', stderr: '', exit: { code: 0, signal: null } });
  });

  it('keeps stderr apart from stdout without a tty and passes a non-zero code', async () => {
    const { socket, head } = await upgraded(`command=sh&command=-c&command=${encodeURIComponent('echo out; nope; exit 3')}`);
    assert.deepEqual(await readExec(socket, head), { stdout: 'out\n', stderr: 'fake exec: nope: not found\n', exit: { code: 3, signal: null } });
  });

  it('forwards stdin with stdin=1 until the client sends EOF', async () => {
    const { socket, head } = await upgraded('command=cat&stdin=1');
    socket.write(Buffer.concat([encodeFrame(FrameType.STDIN, 'abc'), encodeFrame(FrameType.STDIN, 'def\n')]));
    socket.write(encodeFrame(FrameType.STDIN_EOF));
    assert.deepEqual(await readExec(socket, head), { stdout: 'abcdef\n', stderr: '', exit: { code: 0, signal: null } });
  });

  it('closes the process stdin at once without stdin=1', async () => {
    const { socket, head } = await upgraded('command=cat');
    assert.deepEqual((await readExec(socket, head)).exit, { code: 0, signal: null });
  });

  it('gives a tty the initial size, applies resize frames and merges stderr into the terminal', async () => {
    const sized = await upgraded('command=stty&command=size&tty=1&rows=24&cols=80');
    assert.equal((await readExec(sized.socket, sized.head)).stdout, '24 80\n');
    const { socket, head } = await upgraded('command=sh&command=-c&command=cat%3B%20nope&tty=1&stdin=1&rows=24&cols=80');
    socket.write(Buffer.concat([resizeFrame(50, 132), encodeFrame(FrameType.STDIN, 'typed'), encodeFrame(FrameType.STDIN_EOF)]));
    const transcript = await readExec(socket, head);
    assert.deepEqual(transcript, { stdout: 'typedfake exec: nope: not found\n', stderr: '', exit: { code: 127, signal: null } });
    assert.deepEqual(runtime.execSessions.at(-1)?.sizes, [{ rows: 24, cols: 80 }, { rows: 50, cols: 132 }]);
  });

  it('reports a process ended by a signal with the signal and no code', async () => {
    const { socket, head } = await upgraded('command=sleep&command=100');
    const reading = readExec(socket, head);
    await waitUntil(() => runtime.execSessions.at(-1)?.argv.join(' ') === 'sleep 100', 'the exec session of sleep 100');
    runtime.execSessions.at(-1)!.kill('SIGTERM');
    assert.deepEqual((await reading).exit, { code: null, signal: 'SIGTERM' });
  });

  it('kills the process when the client goes away before it exits', async () => {
    const { socket } = await upgraded('command=sleep&command=200');
    await waitUntil(() => runtime.execSessions.at(-1)?.argv.join(' ') === 'sleep 200', 'the exec session of sleep 200');
    const session = runtime.execSessions.at(-1)!;
    socket.destroy();
    assert.deepEqual(await session.exited, { code: null, signal: 'SIGKILL' });
  });

  it('answers 404 for a replica not on this node and 400 for a request without a command', async () => {
    const missing = await openExec(server.port, '/v1/exec/default/other?command=sh', pki.connectOptions());
    assert.deepEqual(missing.upgraded ? 'upgraded' : [missing.status, JSON.parse(missing.body)], [404, { error: 'replica default/other is not running on this node' }]);
    const empty = await exec('tty=1');
    assert.equal(!empty.upgraded && empty.status, 400);
    assert.match(!empty.upgraded ? empty.body : '', /command: give the command to run/);
    const plain = await pki.fetch(`https://127.0.0.1:${server.port}/v1/exec/default/web-1?command=sh`);
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /needs an HTTP\/1\.1 upgrade/);
  });

  it('upgrades for the control plane only: no certificate 401, another CA 401, a node or an administrator 403', async () => {
    const refusals: Array<[Caller, number, RegExp]> = [
      ['none', 401, /^no credentials/],
      ['other-ca', 401, /^client certificate refused/],
      ['node', 403, /exec on a node agent is served to the control plane only/],
      ['admin', 403, /exec on a node agent is served to the control plane only/],
    ];
    const before = runtime.calls.length;
    for (const [as, status, message] of refusals) {
      const opened = await openExec(server.port, '/v1/exec/default/web-1?command=hostname', pki.connectOptions(as));
      assert.equal(opened.upgraded, false, as);
      assert.equal(!opened.upgraded && opened.status, status, as);
      assert.match(!opened.upgraded ? (JSON.parse(opened.body) as { error: string }).error : '', message, as);
    }
    assert.deepEqual(runtime.calls.slice(before), [], 'nothing ran for them');
  });

  it('refuses a client that sends output frames, with an exit frame carrying the error', async () => {
    const { socket, head } = await upgraded('command=sleep&command=300');
    socket.write(encodeFrame(FrameType.STDOUT, 'not yours'));
    const { exit } = await readExec(socket, head);
    assert.equal(exit?.code, null);
    assert.match(exit?.error ?? '', /may not send frames of type 1/);
  });
});

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  await waitFor(condition, { what });
}
