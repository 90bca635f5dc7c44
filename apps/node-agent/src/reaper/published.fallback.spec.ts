/**
 * The reaper's and the agent's sides of a published port kept across an agent's death, with real
 * processes: "agents" are child processes (with an IPC channel, as under the reaper) that listen
 * through PortHandover; the test process plays the reaper with PublishedFallback.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HandoverMessage, PUBLISHED_PORTS_FILE, PublishedFallback } from './published.fallback';

const HOST = '127.0.0.1';

// An agent: takes the socket its reaper held (or binds PORT), answers NAME, says it listens.
const AGENT = `
const net = require('node:net');
const { PortHandover } = require(process.env.HANDOVER);
const [name, port] = [process.env.NAME, Number(process.env.PORT)];
const handover = new PortHandover(process.env.STATE, () => undefined);
handover.ready().then(() => {
  const server = net.createServer((socket) => socket.end(name));
  const adopted = handover.take(port, '${HOST}');
  const listening = () => {
    handover.published(server.address().port, '${HOST}', server);
    process.send({ kind: 'test-listening', port: server.address().port, adopted: !!adopted });
  };
  if (adopted) server.listen(adopted, listening);
  else server.listen(port, '${HOST}', listening);
});
`;

describe('published ports across an agent\'s death', () => {
  let stateDir: string;
  let backend: http.Server;
  let backendPort: number;
  const children: ChildProcess[] = [];

  before(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-handover-'));
    backend = http.createServer((_req, res) => res.end('replica'));
    await new Promise<void>((resolve) => backend.listen(0, HOST, resolve));
    backendPort = (backend.address() as net.AddressInfo).port;
  });

  after(() => {
    for (const child of children) child.kill('SIGKILL');
    backend.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const startAgent = (fallback: PublishedFallback, name: string, port: number) => {
    const child = spawn(process.execPath, ['-e', AGENT], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NAME: name, PORT: String(port), STATE: stateDir, HANDOVER: path.join(__dirname, '../proxy/port.handover.js') },
    });
    children.push(child);
    const listening = new Promise<{ port: number; adopted: boolean }>((resolve) => {
      child.on('message', (message: HandoverMessage | { kind: 'test-listening'; port: number; adopted: boolean }, handle: unknown) => {
        if (message.kind === 'test-listening') resolve(message);
        else fallback.onMessage(child, message, handle);
      });
    });
    return { child, listening };
  };

  it('keeps the port open while no agent runs, serves it from the reaper, and hands it back', async () => {
    const logs: string[] = [];
    const fallback = new PublishedFallback(stateDir, (line) => logs.push(line));
    const first = startAgent(fallback, 'agent-1', 0);
    const { port } = await first.listening;
    assert.equal(await answer(port), 'agent-1');
    fs.writeFileSync(path.join(stateDir, PUBLISHED_PORTS_FILE), JSON.stringify({ ports: { [port]: { service: 'default/web', targets: [{ host: HOST, port: backendPort }] } } }));

    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    // No agent and no reaper serving yet: the connection waits in the socket's queue instead of being refused.
    const queued = answer(port);
    await new Promise((resolve) => setTimeout(resolve, 300));
    fallback.serve();
    assert.match(await queued, /replica/);
    assert.match(await answer(port), /replica/);
    assert.ok(logs.some((l) => l.includes(`serving published port ${port}`)), logs.join('\n'));

    const second = startAgent(fallback, 'agent-2', port);
    const taken = await second.listening;
    assert.deepEqual({ port: taken.port, adopted: taken.adopted }, { port, adopted: true }, 'the new agent listens on the socket the reaper held');
    await waitUntil(() => logs.some((l) => l.includes(`published port ${port} handed back`)));
    for (let i = 0; i < 5; i++) assert.equal(await answer(port), 'agent-2');
  });
});

/** What the port answers to a new connection (an HTTP request for the replica, a bare read for the agents). */
function answer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  assert.ok(condition(), 'condition within 5 s');
}
