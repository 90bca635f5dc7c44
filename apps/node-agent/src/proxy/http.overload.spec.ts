/**
 * The HTTP balancer under overload, against fake backends on loopback that hold requests until
 * told: the per-replica limit and the queue, 503 with Retry-After when the queue is full or at the
 * deadline (504 for a request a replica may have acted on), queued requests going to new replicas,
 * safe retries, per-service counters. Conditions only: no assertion on how long anything took.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { Registry } from 'prom-client';
import { waitFor } from '@tide/api/testing';
import { TestBackend, closedPort, startBackend, stopBackend } from '../testing/http.backends';
import { BalancerMetrics } from './balancer.metrics';
import { HttpPort } from './http.port';
import type { HttpSession } from './http.session';
import { LoadBalancer, PortPlan } from './load.balancer';
import { DEFAULT_PROXY_OPTIONS, ProxyOptions } from './published.port';

const plan = (...ports: number[]): PortPlan => ({ service: 'shop/web', protocol: 'HTTP', targets: ports.map((port) => ({ host: '127.0.0.1', port, replica: `r${port}` })) });

interface Reply {
  status: number;
  retryAfter?: string;
  body: string;
}

function send(port: number, path: string, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}), body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP load balancer under overload', () => {
  let a: TestBackend;
  let b: TestBackend;
  let published: number;
  let metrics: BalancerMetrics;
  let registry: Registry;
  let balancer: LoadBalancer | undefined;
  const logs: string[] = [];

  const start = async (options: Partial<ProxyOptions>, ...ports: number[]) => {
    metrics = new BalancerMetrics();
    registry = new Registry();
    metrics.register(registry);
    balancer = new LoadBalancer('127.0.0.1', metrics, (line) => logs.push(line), { ...DEFAULT_PROXY_OPTIONS, ...options });
    await balancer.apply(new Map([[published, plan(...ports)]]));
    return metrics.service('shop/web');
  };

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    published = await closedPort();
  });
  afterEach(async () => {
    a.release();
    b.release();
    await balancer?.close();
    balancer = undefined;
  });
  after(async () => {
    await stopBackend(a);
    await stopBackend(b);
  });

  it('holds requests past the per-replica limit in the queue and sends them, oldest first, as replicas finish', async () => {
    const traffic = await start({ maxRequestsPerReplica: 1 }, a.port);
    const first = send(published, '/hold/1');
    await waitFor(() => a.held === 1, { what: 'the first request at the replica' });
    const second = send(published, '/2');
    await waitFor(() => traffic.queued === 1, { what: 'the second request queued' });
    const third = send(published, '/3');
    await waitFor(() => traffic.queued === 2, { what: 'the third request queued' });
    assert.equal(a.requests, 0, 'the replica has only the request it holds');
    // The autoscaler's request count is the demand: the queued requests count before their answer.
    assert.deepEqual(metrics.serviceRequests(), [{ namespace: 'shop', service: 'web', requests: 3, latencyCounts: new Array(15).fill(0) }]);
    a.release();
    const answers = await Promise.all([first, second, third]);
    assert.deepEqual(answers.map((x) => x.body), ['a GET /hold/1 ', 'a GET /2 ', 'a GET /3 ']);
    assert.equal(traffic.queued, 0);
    assert.match(await registry.metrics(), /tide_lb_queued_requests\{service="shop\/web"\} 0/);
  });

  it('answers 503 with Retry-After at once when the queue is full', async () => {
    const traffic = await start({ maxRequestsPerReplica: 1, queueLength: 1, retryAfterSeconds: 2 }, a.port);
    const held = send(published, '/hold');
    await waitFor(() => a.held === 1, { what: 'the request at the replica' });
    const queued = send(published, '/queued');
    await waitFor(() => traffic.queued === 1, { what: 'one request queued' });
    const refused = await send(published, '/one-too-many');
    assert.equal(refused.status, 503);
    assert.equal(refused.retryAfter, '2');
    assert.match(refused.body, /shop\/web is overloaded: too many requests waiting for a replica/);
    a.release();
    assert.deepEqual((await Promise.all([held, queued])).map((x) => x.status), [200, 200]);
    const text = await registry.metrics();
    assert.match(text, /tide_http_requests_total\{namespace="shop",service="web",code="503"\} 1\n/);
    assert.match(text, /tide_http_requests_total\{namespace="shop",service="web",code="200"\} 2\n/);
    assert.match(text, /tide_lb_requests_total\{service="shop\/web",code="503"\} 1\n/, 'the older name still counts');
    assert.match(text, /tide_lb_overload_rejections_total\{service="shop\/web",reason="queue_full"\} 1\n/);
  });

  it('answers at the deadline: 503 with Retry-After for an idempotent request, 504 for a POST a replica holds', async () => {
    const traffic = await start({ maxRequestsPerReplica: 2, requestDeadlineMs: 300, retryAfterSeconds: 1 }, a.port);
    const post = send(published, '/hold/post', 'POST', 'order');
    const get = send(published, '/hold/get');
    await waitFor(() => a.held === 2, { what: 'two requests at the replica' });
    const [postAnswer, getAnswer] = await Promise.all([post, get]);
    assert.equal(postAnswer.status, 504, 'the replica may have acted on the POST: not a 503 that invites a retry');
    assert.equal(postAnswer.retryAfter, undefined);
    assert.deepEqual(getAnswer, { status: 503, retryAfter: '1', body: 'shop/web did not answer within 0.3 s\n' });
    assert.equal(traffic.deadlineExpired, 2);
    assert.match(logs.join('\n'), new RegExp(`r${a.port}: no answer within the 0.3 s deadline`));
    assert.match(await registry.metrics(), /tide_lb_overload_rejections_total\{service="shop\/web",reason="deadline"\} 2\n/);
    // The replica's slots were given back: a new request goes through.
    a.release();
    assert.equal((await send(published, '/after')).status, 200);
  });

  it('answers 503 with Retry-After to a request still queued at its deadline; an answer under way has none', async () => {
    // A replica that sends the head and a first piece of its answer at once, the rest when told.
    let finish = () => undefined as void;
    let streamed = false;
    const streaming = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      finish = () => void res.end('last');
    });
    await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
    try {
      const traffic = await start({ maxRequestsPerReplica: 1, requestDeadlineMs: 1000 }, (streaming.address() as { port: number }).port);
      // The balancer has the answer's head once the client has it.
      const slow = new Promise<Reply>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: published, path: '/stream', agent: false }, (res) => {
          streamed = true;
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
      await waitFor(() => streamed, { what: 'the head of the streamed answer at the client' });
      const queued = await send(published, '/queued');
      assert.deepEqual(queued, { status: 503, retryAfter: '1', body: 'shop/web did not answer within 1 s\n' });
      assert.equal(traffic.queued, 0);
      finish();
      assert.deepEqual(await slow, { status: 200, body: 'first last' }, 'the answer that had begun is not cut at the deadline');
    } finally {
      streaming.closeAllConnections();
      streaming.close();
    }
  });

  it('sends queued requests to a replica that becomes ready, and answers 503 to those left when none is', async () => {
    const traffic = await start({ maxRequestsPerReplica: 1 }, a.port);
    const held = send(published, '/hold/a');
    await waitFor(() => a.held === 1, { what: 'the request at a' });
    const queued = send(published, '/to-b');
    await waitFor(() => traffic.queued === 1, { what: 'a request queued' });
    await balancer!.apply(new Map([[published, plan(a.port, b.port)]]));
    assert.equal((await queued).body, 'b GET /to-b ');
    // b busy too, one more queued; then every replica leaves the endpoints.
    const heldB = send(published, '/hold/b');
    await waitFor(() => b.held === 1, { what: 'a request held by b' });
    const stranded = send(published, '/stranded');
    await waitFor(() => traffic.queued === 1, { what: 'a request queued again' });
    await balancer!.apply(new Map([[published, plan()]]));
    assert.deepEqual(await stranded, { status: 503, body: 'no ready replica of shop/web\n' });
    a.release();
    b.release();
    assert.deepEqual((await Promise.all([held, heldB])).map((x) => x.status), [200, 200], 'requests in flight finish');
  });

  it('queues a request that a replica not listening yet refused while the others are full, and answers it', async () => {
    const dead = await closedPort();
    const traffic = await start({ maxRequestsPerReplica: 1 }, dead, a.port);
    const held = send(published, '/hold');
    await waitFor(() => a.held === 1, { what: 'a request held by the listening replica' });
    const first = send(published, '/q1');
    await waitFor(() => traffic.queued === 1, { what: 'the first request queued (after a refused connect or at once)' });
    const second = send(published, '/q2');
    await waitFor(() => traffic.queued === 2, { what: 'the second request queued behind it' });
    a.release();
    assert.deepEqual((await Promise.all([held, first, second])).map((x) => `${x.status} ${x.body}`), ['200 a GET /hold ', '200 a GET /q1 ', '200 a GET /q2 ']);
  });

  it('puts a request back in the queue by its arrival after a failed connect, and holds no more than the queue length', () => {
    const port = new HttpPort('shop/web', new BalancerMetrics().service('shop/web'), { ...DEFAULT_PROXY_OPTIONS, queueLength: 3 }, () => undefined);
    const session = (began: number) => ({ began }) as unknown as HttpSession;
    const [s1, s2, s3, s4] = [session(1), session(2), session(3), session(4)];
    assert.equal(port.enqueue(s2, false), true);
    assert.equal(port.enqueue(s3, false), true);
    assert.equal(port.enqueue(s1, true), true);
    assert.deepEqual([...port.queue], [s1, s2, s3]);
    assert.equal(port.enqueue(s4, false), false, 'full');
    port.dequeue(s2);
    assert.equal(port.traffic.queued, 2);
  });

  it('sends a POST to another replica when a connect fails (nothing was sent), never once a replica may have it', async () => {
    await start({}, await closedPort(), a.port);
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(published, '/order', 'POST', 'x')));
    assert.deepEqual(new Set(answers.map((x) => `${x.status} ${x.body}`)), new Set(['200 a POST /order x']));
  });
});
