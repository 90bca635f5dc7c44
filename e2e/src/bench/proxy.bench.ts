/**
 * proxy benchmark: requests per second and p99 latency through Tide's per-node load balancer and
 * through nginx (Debian's nginx-light) configured with the same backends, in one run. A one-node
 * cluster runs the backends (small Node.js HTTP servers in bridge containers) behind a published
 * HTTP port; nginx balances over the same replicas' addresses (proxy.contestants.ts: one worker,
 * least_conn, keep-alive on both sides and never recycled, as Tide's). wrk drives both with the
 * same keep-alive connections in rounds whose order alternates (Tide first in odd rounds, nginx
 * first in even ones); the medians of the rounds are reported, with each contestant's CPU time per
 * request (the node's balancer process for Tide, nginx's worker).
 * --isolated: no cluster; the backends are two Node.js processes on loopback and Tide's balancer
 * runs alone in a process of its own (the agent's LoadBalancer class), so that the figures are the
 * balancers' and not the agent's other work; --profile DIR writes that process's CPU profile there.
 * Options: --connections N (32), --seconds S per round (5), --rounds N (9), --backends N (2),
 * --nginx-workers N (1), --isolated, --profile DIR, --json.
 */
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestCluster, pidsMentioning, running, waitFor } from '../harness';
import {
  BACKEND, CpuTime, cpuTime, nginxConfig, nginxWorker, requireTool, startBackends, startBalancer, startNginx, stopChild,
} from './proxy.contestants';
import { LoadFigures, median, runWrk } from './wrk';

const BASE = 19570;
const POD_CIDR = '100.64.84.0/22';
const PUBLISHED = BASE + 20;
const NGINX_PORT = BASE + 21;
const ISOLATED_BACKENDS = BASE + 22;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function stringOption(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

type Name = 'tide' | 'nginx';

interface Contestant {
  url: string;
  /** The process whose CPU time is this contestant's work. */
  pid: number;
}

interface Setup {
  contestants: Record<Name, Contestant>;
  stop(): Promise<void>;
}

interface RoundFigures extends LoadFigures {
  /** CPU time of the contestant's process per request, in microseconds. */
  cpu_user_us: number;
  cpu_system_us: number;
}

interface Settings {
  connections: number;
  seconds: number;
  rounds: number;
  backends: number;
  workers: number;
  json: boolean;
}

function manifest(backends: number): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: bench-web }
spec:
  replicas: ${backends}
  image: node
  command: ${JSON.stringify(['node', '-e', BACKEND])}
  resources: { requests: { cpu: 10m, memory: 32Mi } }
  terminationGracePeriodSeconds: 1
  ports:
    - { containerPort: 8080, publish: ${PUBLISHED}, protocol: HTTP }
  probes:
    readiness: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
`;
}

/** A one-node cluster with the backends as replicas; Tide is the node agent's balancer. */
async function clusterSetup(settings: Settings, dir: string): Promise<Setup> {
  const cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  let nginx: ChildProcess | undefined;
  const stop = async () => {
    await stopChild(nginx);
    await cluster.stop();
  };
  try {
    const applied = await cluster.apply(manifest(settings.backends));
    if (applied.code !== 0) throw new Error(applied.stderr);
    const replicas = await waitFor(`${settings.backends} ready backends`, async () => {
      const list = running(await cluster.replicas('bench-web')).filter((r) => r.status?.ready && r.status.ip);
      return list.length === settings.backends ? list : undefined;
    }, 180_000);
    const [node] = await cluster.nodeList();
    const tideUrl = `http://${node.spec.address}:${PUBLISHED}/`;
    await waitFor('every backend answering through Tide\'s balancer', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4 * settings.backends; i++) seen.add(await (await fetch(tideUrl)).text());
      return seen.size === settings.backends;
    }, 30_000, 200);
    const upstreams = replicas.map((r) => `${r.status!.ip}:8080`);
    const listen = `${node.spec.address}:${NGINX_PORT}`;
    nginx = await startNginx(dir, nginxConfig(dir, listen, upstreams, settings.workers), `http://${listen}/`);
    return {
      contestants: { tide: { url: tideUrl, pid: balancerPid(cluster) }, nginx: { url: `http://${listen}/`, pid: nginxWorker(nginx) } },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The node's balancer process (node-agent-balancer, a child of the node's reaper): where the proxying runs. */
function balancerPid(cluster: TestCluster): number {
  const stateDir = path.join(cluster.stateDir, 'nodes', 'node-1');
  const [pid, ...more] = pidsMentioning(`node-agent-balancer ${stateDir}`);
  if (!pid || more.length > 0) throw new Error(`expected one balancer process of ${stateDir}, found ${[pid, ...more].filter(Boolean).join(' ') || 'none'}`);
  return pid;
}

/** Backends, Tide's balancer and nginx as plain processes on loopback. */
async function isolatedSetup(settings: Settings, dir: string, profileDir?: string): Promise<Setup> {
  const host = '127.0.0.1';
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) await stopChild(child);
  };
  try {
    const ports = Array.from({ length: settings.backends }, (_, i) => ISOLATED_BACKENDS + 1 + i);
    children.push(...await startBackends(host, ports));
    const upstreams = ports.map((port) => `${host}:${port}`);
    const balancer = await startBalancer(host, PUBLISHED, upstreams, profileDir);
    children.push(balancer);
    const listen = `${host}:${NGINX_PORT}`;
    const nginx = await startNginx(dir, nginxConfig(dir, listen, upstreams, settings.workers), `http://${listen}/`);
    children.push(nginx);
    return {
      contestants: { tide: { url: `http://${host}:${PUBLISHED}/`, pid: balancer.pid! }, nginx: { url: `http://${listen}/`, pid: nginxWorker(nginx) } },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function measure(contestant: Contestant, settings: Settings): Promise<RoundFigures> {
  const before: CpuTime = cpuTime(contestant.pid);
  const load = await runWrk(contestant.url, settings.connections, settings.seconds);
  const after = cpuTime(contestant.pid);
  const requests = Math.max(1, load.rps * settings.seconds);
  const perRequest = (seconds: number) => Math.round((seconds / requests) * 1e6 * 10) / 10;
  return { ...load, cpu_user_us: perRequest(after.user - before.user), cpu_system_us: perRequest(after.system - before.system) };
}

/** Rounds in alternating order: each contestant goes first in half of them. */
async function rounds(setup: Setup, settings: Settings): Promise<Record<Name, RoundFigures[]>> {
  const figures: Record<Name, RoundFigures[]> = { tide: [], nginx: [] };
  // Warm-up: connection pools, JIT.
  for (const name of ['tide', 'nginx'] as const) await runWrk(setup.contestants[name].url, settings.connections, 2);
  for (let round = 0; round < settings.rounds; round++) {
    const order: Name[] = round % 2 === 0 ? ['tide', 'nginx'] : ['nginx', 'tide'];
    for (const name of order) {
      const result = await measure(setup.contestants[name], settings);
      figures[name].push(result);
      if (!settings.json) console.log(`round ${round + 1} ${name}: ${result.rps} req/s, p99 ${result.p99_ms} ms, ${result.errors} errors, CPU ${result.cpu_user_us} + ${result.cpu_system_us} µs/request`);
    }
  }
  return figures;
}

const tenths = (value: number) => Math.round(value * 10) / 10;

function summary(list: RoundFigures[]): RoundFigures {
  return {
    rps: median(list.map((f) => f.rps)), p99_ms: median(list.map((f) => f.p99_ms)), errors: list.reduce((sum, f) => sum + f.errors, 0),
    cpu_user_us: tenths(median(list.map((f) => f.cpu_user_us))), cpu_system_us: tenths(median(list.map((f) => f.cpu_system_us))),
  };
}

async function main(): Promise<void> {
  const settings: Settings = {
    connections: option('connections', 32), seconds: option('seconds', 5), rounds: option('rounds', 9), backends: option('backends', 2),
    workers: option('nginx-workers', 1), json: process.argv.includes('--json'),
  };
  const isolated = process.argv.includes('--isolated');
  const profileDir = stringOption('profile');
  if (profileDir && !isolated) throw new Error('--profile needs --isolated (the agent of a cluster is not started with --cpu-prof)');
  requireTool('wrk');
  requireTool('nginx');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-proxy-bench-'));
  const loadBefore = os.loadavg()[0];
  let figures: Record<Name, RoundFigures[]>;
  try {
    const setup = isolated ? await isolatedSetup(settings, dir, profileDir && path.resolve(profileDir)) : await clusterSetup(settings, dir);
    try {
      figures = await rounds(setup, settings);
    } finally {
      await setup.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const tide = summary(figures.tide);
  const reference = summary(figures.nginx);
  const result = {
    benchmark: 'proxy', mode: isolated ? 'isolated' : 'cluster', connections: settings.connections, seconds: settings.seconds,
    rounds: settings.rounds, backends: settings.backends, nginx_workers: settings.workers,
    load_average_before: Math.round(loadBefore * 10) / 10, load_average_after: Math.round(os.loadavg()[0] * 10) / 10,
    tide, nginx: reference,
    rps_ratio: Math.round((tide.rps / reference.rps) * 100) / 100,
    p99_ratio: Math.round((tide.p99_ms / reference.p99_ms) * 100) / 100,
    rounds_detail: figures,
  };
  console.log(settings.json ? JSON.stringify(result) : result);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
