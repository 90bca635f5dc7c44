/** The forwarder against real sockets on loopback. */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { PublishEntry } from './publish.plan';
import { TcpForwarder } from './tcp.forwarder';

/** A backend that answers every connection with its name, after reading what the client sent. */
async function backend(name: string): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('end', () => socket.end(`${name}:${received}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, server };
}

async function freePort(): Promise<number> {
  const { port, server } = await backend('probe');
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends `text`, half-closes, and reads the answer to its end (as `nc -q` does). */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.end(text);
  });
}

const entry = (...ports: number[]): PublishEntry => ({ service: 'default/web', targets: ports.map((port) => ({ host: '127.0.0.1', port })) });

describe('TcpForwarder', () => {
  const servers: net.Server[] = [];
  const forwarder = new TcpForwarder('127.0.0.1');
  after(async () => {
    await forwarder.close();
    for (const server of servers) server.close();
  });

  it('forwards round-robin over the targets, the answer complete after the client half-closed', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    servers.push(a.server, b.server);
    const published = await freePort();
    await forwarder.apply(new Map([[published, entry(a.port, b.port)]]));
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await exchange(published, `hello${i}`));
    assert.deepEqual(answers, ['a:hello0', 'b:hello1', 'a:hello2', 'b:hello3']);
  });

  it('skips a target that refuses connections', async () => {
    const live = await backend('live');
    servers.push(live.server);
    const dead = await freePort();
    const published = await freePort();
    await forwarder.apply(new Map([[published, entry(dead, live.port)]]));
    assert.equal(await exchange(published, 'x'), 'live:x');
    assert.equal(await exchange(published, 'y'), 'live:y');
  });

  it('switches targets in place and stops listening when the port leaves the plan', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    servers.push(a.server, b.server);
    const published = await freePort();
    await forwarder.apply(new Map([[published, entry(a.port)]]));
    assert.equal(await exchange(published, '1'), 'a:1');
    await forwarder.apply(new Map([[published, entry(b.port)]]));
    assert.equal(await exchange(published, '2'), 'b:2');
    await forwarder.apply(new Map());
    assert.deepEqual(forwarder.ports(), []);
    await assert.rejects(exchange(published, '3'), /ECONNREFUSED/);
  });

  it('reports a port it cannot listen on and tries again at the next apply', async () => {
    const lines: string[] = [];
    const local = new TcpForwarder('127.0.0.1', (line) => lines.push(line));
    const busy = await backend('busy');
    servers.push(busy.server);
    await local.apply(new Map([[busy.port, entry(busy.port)]]));
    assert.deepEqual(local.ports(), []);
    assert.match(lines.join('\n'), new RegExp(`cannot publish port ${busy.port} for default/web on 127.0.0.1: .*EADDRINUSE`));
    await new Promise((resolve) => busy.server.close(resolve));
    const target = await backend('t');
    servers.push(target.server);
    await local.apply(new Map([[busy.port, entry(target.port)]]));
    assert.deepEqual(local.ports(), [busy.port]);
    assert.equal(await exchange(busy.port, 'again'), 't:again');
    await local.close();
  });
});
