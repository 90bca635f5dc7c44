/** TCP published ports and the listeners' life, against real sockets on loopback. */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { closedPort } from '../testing/http.backends';
import { BalancerMetrics } from './balancer.metrics';
import { LoadBalancer, PortPlan } from './load.balancer';

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

/** Sends `text`, half-closes, and reads the answer to its end (as `nc -q` does). */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.end(text);
  });
}

const tcp = (...ports: number[]): PortPlan => ({ service: 'default/db', protocol: 'TCP', targets: ports.map((port) => ({ host: '127.0.0.1', port })) });

describe('TCP load balancer', () => {
  const servers: net.Server[] = [];
  const balancer = new LoadBalancer('127.0.0.1', new BalancerMetrics());
  after(async () => {
    await balancer.close();
    for (const server of servers) server.close();
  });

  it('forwards whole connections over the replicas, the answer complete after the client half-closed', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    servers.push(a.server, b.server);
    const published = await closedPort();
    await balancer.apply(new Map([[published, tcp(a.port, b.port)]]));
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await exchange(published, `hello${i}`));
    assert.ok(answers.every((x, i) => x.endsWith(`:hello${i}`)), answers.join());
    assert.deepEqual(new Set(answers.map((x) => x[0])), new Set(['a', 'b']), 'both replicas serve');
  });

  it('skips a replica that refuses connections', async () => {
    const live = await backend('live');
    servers.push(live.server);
    const published = await closedPort();
    await balancer.apply(new Map([[published, tcp(await closedPort(), live.port)]]));
    for (let i = 0; i < 6; i++) assert.equal(await exchange(published, `${i}`), `live:${i}`);
  });

  it('closes the connection of a client when no replica is ready', async () => {
    const published = await closedPort();
    await balancer.apply(new Map([[published, tcp()]]));
    assert.equal(await exchange(published, 'x'), '');
  });

  it('switches replicas in place, and stops listening when the port leaves the plan', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    servers.push(a.server, b.server);
    const published = await closedPort();
    await balancer.apply(new Map([[published, tcp(a.port)]]));
    assert.equal(await exchange(published, '1'), 'a:1');
    await balancer.apply(new Map([[published, tcp(b.port)]]));
    assert.equal(await exchange(published, '2'), 'b:2');
    await balancer.apply(new Map());
    assert.deepEqual(balancer.ports(), []);
    await assert.rejects(exchange(published, '3'), /ECONNREFUSED/);
  });

  it('reports a port it cannot listen on and tries again at the next apply', async () => {
    const lines: string[] = [];
    const local = new LoadBalancer('127.0.0.1', new BalancerMetrics(), (line) => lines.push(line));
    const busy = await backend('busy');
    await local.apply(new Map([[busy.port, tcp(busy.port)]]));
    assert.deepEqual(local.ports(), []);
    assert.match(lines.join('\n'), new RegExp(`cannot publish port ${busy.port} for default/db on 127.0.0.1: .*EADDRINUSE`));
    await new Promise((resolve) => busy.server.close(resolve));
    const target = await backend('t');
    servers.push(target.server);
    await local.apply(new Map([[busy.port, tcp(target.port)]]));
    assert.deepEqual(local.ports(), [busy.port]);
    assert.equal(await exchange(busy.port, 'again'), 't:again');
    await local.close();
  });
});
