/**
 * The channel between the agent and the node's balancer process: configs applied and re-sent after
 * any reconnect, in-flight exchanges surviving the agent, counts reaching the agent's /metrics, and
 * the balancer process ending with its reaper. Real sockets on loopback and a real unix socket.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { waitFor } from '@tide/api/testing';
import { TestBackend, closedPort, request, startBackend, stopBackend } from '../testing/http.backends';
import { BalancerMetrics } from '../proxy/balancer.metrics';
import type { PortPlan } from '../proxy/load.balancer';
import { DEFAULT_PROXY_OPTIONS } from '../proxy/published.port';
import { BalancerClient, shutDownBalancer } from './balancer.client';
import { BalancerConfig, PublishedPortConfig, balancerSocketPath, parseBalancerConfig } from './balancer.protocol';
import { BalancerService, serveBalancerChannel } from './balancer.server';

const SERVICE = 'shop/web';
const plan = (port: number, backends: TestBackend[]): Map<number, PortPlan> =>
  new Map([[port, { service: SERVICE, protocol: 'HTTP', targets: backends.map((b) => ({ host: '127.0.0.1', port: b.port, replica: b.name })) }]]);

/** An agent's end of the channel, connected. */
async function agentClient(stateDir: string, inheritTargetsMs?: number): Promise<BalancerClient> {
  const client = new BalancerClient({ stateDir, address: '127.0.0.1', proxy: DEFAULT_PROXY_OPTIONS, log: () => undefined, ...(inheritTargetsMs ? { inheritTargetsMs } : {}) });
  client.start();
  await waitFor(() => client.isConnected(), { what: 'the agent connected to the balancer' });
  return client;
}

/** Refused, or answered: whether anything listens on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe('the balancer channel', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-balancer-'));
  const logs: string[] = [];
  let service = new BalancerService((line) => logs.push(line));
  let server: net.Server;
  /** The balancer's end of every agent connection, to cut them as its death would. */
  const channels: net.Socket[] = [];
  let a: TestBackend;
  let b: TestBackend;
  let published: number;

  before(async () => {
    server = serveBalancerChannel(stateDir, service).on('connection', (socket: net.Socket) => channels.push(socket));
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    published = await closedPort();
  });
  after(async () => {
    server.close();
    await service.close();
    await Promise.all([stopBackend(a), stopBackend(b)]);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('is a socket only root (its owner) may open', () => {
    assert.equal(fs.statSync(balancerSocketPath(stateDir)).mode & 0o777, 0o600);
  });

  it('publishes what the agent sends, and the counts reach the agent\'s /metrics', async () => {
    const client = await agentClient(stateDir);
    try {
      await client.publish(plan(published, [a]));
      assert.match((await request(published, '/x')).body, /^a GET \/x/);
      const metrics = new BalancerMetrics(client);
      const registry = new Registry();
      metrics.register(registry);
      assert.match(await registry.metrics(), /tide_http_requests_total\{namespace="shop",service="web",code="200"\} 1\b/);
      await metrics.refresh();
      assert.equal(metrics.serviceRequests().find((s) => s.service === 'web')?.requests, 1, 'the usage report\'s arrivals');
    } finally {
      client.close();
    }
  });

  it('keeps an exchange in flight and the port serving when the agent goes, and a new agent re-sends its config idempotently', async () => {
    const first = await agentClient(stateDir);
    await first.publish(plan(published, [a]));
    const held = request(published, '/hold');
    await waitFor(() => a.held === 1, { what: 'a request held at backend a' });
    first.close(); // the agent is killed: its end of the channel closes
    a.release();
    assert.equal((await held).status, 200, 'the exchange in flight finished');
    assert.equal((await request(published, '/y')).status, 200, 'no agent connected, the last config serves');

    const publishedBefore = logs.filter((line) => line.startsWith('publishing')).length;
    const second = await agentClient(stateDir);
    try {
      await second.publish(plan(published, [a]));
      await second.publish(plan(published, [a]));
      assert.equal(logs.filter((line) => line.startsWith('publishing')).length, publishedBefore, 'the same config opened nothing again');
      await second.publish(plan(published, [b]));
      assert.match((await request(published, '/z')).body, /^b GET \/z/, 'a change of backends applied in place');
    } finally {
      second.close();
    }
  });

  it('lets a restarted agent keep the last targets for a port while it settles, and empties it after', async () => {
    const restarted = await agentClient(stateDir);
    await restarted.publish(plan(published, [b]));
    restarted.close();
    const next = await agentClient(stateDir, 1000);
    try {
      await next.publish(plan(published, [])); // its own replicas are not probed yet
      assert.match((await request(published, '/kept')).body, /^b GET/, 'inherited the last agent\'s target');
      await next.publish(plan(published, [a]));
      await next.publish(plan(published, [])); // the control plane's view lags this agent's first probes
      assert.match((await request(published, '/kept')).body, /^a GET/, 'kept its own last target');
      await waitFor(async () => (await request(published, '/none')).status === 503, { what: 'the port empty once the agent settled' });
    } finally {
      next.close();
    }
  });

  it('serves the service IPs\' listeners too, and a restarted agent finds them at the same ports', async () => {
    const listener = (backends: TestBackend[]) => new Map([['100.96.0.9:80', {
      ip: '100.96.0.9', port: 80, service: SERVICE, protocol: 'HTTP' as const, targets: backends.map((t) => ({ host: '127.0.0.1', port: t.port })),
    }]]);
    const first = await agentClient(stateDir);
    const [route] = await first.serviceIps('127.0.0.1', listener([a]));
    assert.deepEqual({ ip: route.ip, port: route.port }, { ip: '100.96.0.9', port: 80 });
    assert.match((await request(route.localPort, '/vip')).body, /^a GET \/vip/);
    first.close();
    const next = await agentClient(stateDir);
    try {
      const again = await next.serviceIps('127.0.0.1', listener([])); // not probed yet: inherits
      assert.deepEqual(again, [route], 'the same listener: the rules need no change');
      assert.match((await request(route.localPort, '/vip')).body, /^a GET/);
    } finally {
      next.close();
    }
  });

  it('sends the desired config again to a balancer that was restarted', async () => {
    const client = await agentClient(stateDir);
    try {
      await client.publish(plan(published, [a]));
      server.close(); // the balancer process dies: its channel and its ports close
      channels.splice(0).forEach((socket) => socket.destroy());
      await service.close();
      assert.equal(await listening(published), false);
      service = new BalancerService((line) => logs.push(line));
      server = serveBalancerChannel(stateDir, service);
      await waitFor(() => listening(published), { what: 'the port published again by the reconnected agent' });
      assert.match((await request(published, '/again')).body, /^a GET/);
    } finally {
      client.close();
    }
  });
});

describe('an agent without its balancer', () => {
  it('keeps the service IP rules as they are rather than emptying them', async () => {
    const client = new BalancerClient({ stateDir: path.join(os.tmpdir(), 'tide-no-balancer-here'), address: '127.0.0.1', proxy: DEFAULT_PROXY_OPTIONS, log: () => undefined });
    client.start();
    try {
      await assert.rejects(client.serviceIps('127.0.0.1', new Map()), /not reachable\); the rules stay as they are/);
      await client.publish(new Map()); // kept, sent at the next connect; no error
    } finally {
      client.close();
    }
  });
});

describe('a balancer config off the channel', () => {
  const port: PublishedPortConfig = { port: 80, service: 'a/b', protocol: 'TCP', targets: [{ host: 'h', port: 1 }] };
  const good: BalancerConfig = { address: '10.0.0.1', options: DEFAULT_PROXY_OPTIONS, ports: [port] };
  const cases: [string, unknown, RegExp][] = [
    ['no address', { ...good, address: '' }, /^config\.address:/],
    ['ports not a list', { ...good, ports: {} }, /^config\.ports: expected a list/],
    ['a port out of range', { ...good, ports: [{ ...port, port: 70000 }] }, /^config\.ports\[0\]\.port: expected 1-65535/],
    ['a service without namespace', { ...good, ports: [{ ...port, service: 'b' }] }, /^config\.ports\[0\]\.service:/],
    ['an unknown protocol', { ...good, ports: [{ ...port, protocol: 'UDP' }] }, /^config\.ports\[0\]\.protocol: expected HTTP or TCP/],
    ['a target without port', { ...good, ports: [{ ...port, targets: [{ host: 'h' }] }] }, /^config\.ports\[0\]\.targets\[0\]:/],
    ['a negative setting', { ...good, options: { ...good.options, queueLength: -1 } }, /^config\.options\.queueLength:/],
    ['a service IP listener without its IP', { ...good, serviceIps: { address: '10.1.0.1', listeners: [{ ...port, ip: '' }] } }, /^config\.serviceIps\.listeners\[0\]\.ip:/],
    ['service IPs without the bridge address', { ...good, serviceIps: { listeners: [] } }, /^config\.serviceIps\.address:/],
  ];
  for (const [what, config, error] of cases) {
    it(`is refused with the field named: ${what}`, () => assert.throws(() => parseBalancerConfig(config), { name: 'BalancerConfigError', message: error }));
  }

  it('takes the default for a setting it does not carry', () => {
    assert.deepEqual(parseBalancerConfig({ ...good, options: {} }).options, DEFAULT_PROXY_OPTIONS);
  });
});

describe('the balancer process', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-balancer-process-'));
  const main = path.join(__dirname, '../main.js');
  let backend: TestBackend;
  let child: ChildProcess | undefined;

  before(async () => (backend = await startBackend('r')));
  after(async () => {
    child?.kill('SIGKILL');
    await stopBackend(backend);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const start = () => {
    const started = spawn(process.execPath, [main, 'balancer', '--state-dir', stateDir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = new Promise<number | null>((resolve) => started.on('exit', (code) => resolve(code)));
    return { started, exited };
  };

  it('tells its reaper whether it serves anything, and ends when its reaper does (the IPC channel closes), closing its ports', async () => {
    const { started, exited } = start();
    child = started;
    const told: unknown[] = [];
    started.on('message', (message) => told.push(message));
    const port = await closedPort();
    const client = await agentClient(stateDir);
    try {
      await client.publish(plan(port, [backend]));
      // The reaper keeps a balancer after a failed agent only while it serves (node.reaper.ts).
      await waitFor(() => told.length > 0, { what: 'the serving message' });
      assert.deepEqual(told.at(-1), { serving: true });
      assert.match((await request(port, '/p')).body, /^r GET/);
      started.disconnect(); // as when the reaper exits, or is killed
      assert.equal(await exited, 0);
      assert.equal(await listening(port), false);
    } finally {
      client.close();
    }
  });

  it('ends when node-agent cleanup asks it to', async () => {
    const { started, exited } = start();
    child = started;
    assert.equal(await waitFor(() => shutDownBalancer(stateDir), { what: 'the shutdown answered' }), true);
    assert.equal(await exited, 0);
    assert.equal(await shutDownBalancer(stateDir), false, 'none runs any more');
  });
});
