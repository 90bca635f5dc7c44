/** The HTTP balancer against real sockets on loopback: keep-alive pools, choice, retries, bodies, metrics. */
import { after, afterEach, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { Registry } from 'prom-client';
import { waitFor } from '@tide/api/testing';
import { Answer, TestBackend, closedPort, request, startBackend, stopBackend } from '../testing/http.backends';
import { BalancerMetrics } from './balancer.metrics';
import { LoadBalancer, PortPlan } from './load.balancer';

const plan = (...ports: number[]): PortPlan => ({ service: 'default/web', protocol: 'HTTP', targets: ports.map((port) => ({ host: '127.0.0.1', port, replica: `r${port}` })) });

describe('HTTP load balancer', () => {
  const metrics = new BalancerMetrics();
  const registry = new Registry();
  metrics.register(registry);
  const logs: string[] = [];
  const balancer = new LoadBalancer('127.0.0.1', metrics, (line) => logs.push(line));
  const backends: TestBackend[] = [];
  const agents: http.Agent[] = [];
  let published: number;
  let a: TestBackend;
  let b: TestBackend;

  const keepAlive = () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    agents.push(agent);
    return agent;
  };

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    backends.push(a, b);
    published = await closedPort();
  });
  afterEach(() => agents.splice(0).forEach((agent) => agent.destroy()));
  after(async () => {
    await balancer.close();
    for (const backend of backends) await stopBackend(backend);
  });

  it('spreads requests over the replicas and reuses its connections to them', async () => {
    await balancer.apply(new Map([[published, plan(a.port, b.port)]]));
    const agent = keepAlive();
    const answers: Answer[] = [];
    for (let i = 0; i < 40; i++) answers.push(await request(published, `/n${i}`, { agent }));
    assert.ok(answers.every((x, i) => x.status === 200 && x.body.endsWith(`GET /n${i} `)), JSON.stringify(answers.slice(0, 3)));
    const byA = answers.filter((x) => x.body.startsWith('a ')).length;
    assert.ok(byA > 5 && byA < 35, `both replicas serve (a answered ${byA} of 40)`);
    assert.ok(a.connections + b.connections <= 4, `keep-alive to the replicas: ${a.connections + b.connections} connections for 40 requests`);
  });

  it('sends new requests to the replica with fewer outstanding ones', async () => {
    const agent = keepAlive();
    const held = request(published, '/hold', { agent });
    await waitFor(() => a.held + b.held === 1, { what: 'the held request at a replica' });
    const [holder, idle] = a.held ? ['a', 'b'] : ['b', 'a'];
    const quick: string[] = [];
    for (let i = 0; i < 10; i++) quick.push((await request(published, '/quick', { agent })).body[0]);
    a.release();
    b.release();
    assert.equal((await held).body[0], holder);
    assert.equal(quick.join(''), idle.repeat(10), `while ${holder} holds the slow request the others go to ${idle}`);
  });

  it('carries request and answer bodies whole: sized, chunked, large, and HEAD answers without one', async () => {
    const agent = keepAlive();
    const large = Buffer.alloc(3 * 1024 * 1024, 'x');
    assert.match((await request(published, '/upload', { method: 'POST', body: large, agent })).body, /POST \/upload 3145728 bytes$/);
    const chunked = await new Promise<Answer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: published, path: '/chunked', method: 'POST', agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write('hello ');
      setTimeout(() => req.end('world'), 20);
    });
    assert.match(chunked.body, /^[ab] hello world$/);
    assert.deepEqual(await request(published, '/head', { method: 'HEAD', agent }), { status: 200, body: '' });
    assert.match((await request(published, '/after', { agent })).body, /GET \/after $/, 'the connection is still in step');
  });

  it('carries a large answer intact to a slow reader (reads share one buffer; a pending write keeps its own)', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
    // Small pieces: the balancer reads little at a time and its writes to the slow client stay queued.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': big.length });
      let offset = 0;
      const next = () => {
        for (let i = 0; i < 2 && offset < big.length; i++, offset += 2048) res.write(big.subarray(offset, offset + 2048));
        if (offset < big.length) setImmediate(next);
        else res.end();
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = await closedPort();
    await balancer.apply(new Map([...[[published, plan(a.port, b.port)] as const], [port, plan((server.address() as net.AddressInfo).port)]]));
    const received = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (chunks.length > 1) return;
          // A reader that stalls: kernel buffers fill up and the balancer's writes queue.
          res.pause();
          setTimeout(() => res.resume(), 500);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    assert.equal(received.length, big.length);
    assert.ok(received.equals(big), 'every byte in place');
    await balancer.apply(new Map([[published, plan(a.port, b.port)]]));
    server.close();
  });

  it('retries a request on another replica when one refuses connections, and counts the failure', async () => {
    const dead = await closedPort();
    await balancer.apply(new Map([[published, plan(dead, a.port)]]));
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(published, '/')));
    assert.deepEqual(new Set(answers.map((x) => `${x.status} ${x.body[0]}`)), new Set(['200 a']));
    const text = await registry.metrics();
    assert.match(text, /tide_lb_backend_failures_total\{service="default\/web"\} [1-9]/);
    assert.match(logs.join('\n'), new RegExp(`r${dead}: connect ECONNREFUSED .*trying another replica`));
  });

  it('answers 503 when no replica is ready and 502 when none answers', async () => {
    await balancer.apply(new Map([[published, plan()]]));
    assert.deepEqual(await request(published, '/'), { status: 503, body: 'no ready replica of default/web\n' });
    await balancer.apply(new Map([[published, plan(await closedPort())]]));
    const answer = await request(published, '/');
    assert.equal(answer.status, 502);
    assert.match(answer.body, /no replica of default\/web answered/);
  });

  it('resends an idempotent request whose pooled connection the replica closed unanswered, never a POST', async () => {
    // A replica that answers the first request of each connection and drops the connection on the second.
    const flaky = net.createServer((socket) => {
      let seen = 0;
      socket.on('data', () => {
        if (++seen === 1) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst');
        else socket.destroy();
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const port = (flaky.address() as net.AddressInfo).port;
    await balancer.apply(new Map([[published, plan(port)]]));
    const agent = keepAlive();
    assert.equal((await request(published, '/1', { agent })).body, 'first');
    assert.deepEqual(await request(published, '/2', { agent }), { status: 200, body: 'first' }, 'resent on a new connection');
    const post = await request(published, '/3', { method: 'POST', body: 'x', agent });
    assert.equal(post.status, 502, 'a POST may have been processed: not sent twice');
    assert.match(post.body, /replica of default\/web failed: closed the connection/);
    flaky.close();
  });

  it('lets in-flight requests to a removed replica finish, then sends it nothing and closes its idle connections', async () => {
    await balancer.apply(new Map([[published, plan(a.port, b.port)]]));
    const agent = keepAlive();
    const inflight = Array.from({ length: 6 }, () => request(published, '/hold', { agent }));
    await waitFor(() => a.held + b.held === 6, { what: '6 requests held by the replicas', detail: () => `a ${a.held}, b ${b.held}` });
    const onB = b.held;
    assert.ok(onB > 0, 'b has requests in flight');
    const before = b.requests;
    await balancer.apply(new Map([[published, plan(a.port)]]));
    a.release();
    b.release();
    const answers = await Promise.all(inflight);
    assert.ok(answers.every((x) => x.status === 200), 'every in-flight request answered');
    assert.equal(b.requests - before, onB, 'b finished the requests it had');
    const after = b.requests;
    for (let i = 0; i < 10; i++) assert.equal((await request(published, '/', { agent })).body[0], 'a');
    assert.equal(b.requests, after);
    await waitFor(async () => (await openConnections(b.server)) === 0, { what: 'no connection left to the removed replica' });
  });

  it('counts requests and latency per service and status code in the agent registry', async () => {
    const text = await registry.metrics();
    assert.match(text, /tide_lb_requests_total\{service="default\/web",code="200"\} \d+/);
    assert.match(text, /tide_lb_requests_total\{service="default\/web",code="503"\} 1\n/);
    assert.match(text, /tide_lb_request_duration_seconds_bucket\{service="default\/web",code="200",le="\+Inf"\} \d+/);
    assert.match(text, /# TYPE tide_lb_request_duration_seconds histogram/);
  });

  it('switches to a tunnel on 101 Switching Protocols', async () => {
    const upgrading = http.createServer();
    upgrading.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      socket.on('data', (chunk) => socket.write(chunk));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => upgrading.listen(0, '127.0.0.1', resolve));
    await balancer.apply(new Map([[published, plan((upgrading.address() as net.AddressInfo).port)]]));
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: published, path: '/ws', headers: { connection: 'Upgrade', upgrade: 'echo' } });
      req.on('upgrade', (_res, socket: net.Socket) => {
        socket.once('data', (chunk) => {
          resolve(chunk.toString());
          socket.destroy();
        });
        socket.write('ping');
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(echoed, 'ping');
    upgrading.closeAllConnections();
    upgrading.close();
  });
});

function openConnections(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}
