/**
 * scrape benchmark: time to scrape one agent's /metrics (GET to the last byte) on a node running
 * N replicas (default 100), on a 2-node local cluster with real containers: node-1 runs the
 * replicas, node-2 (cordoned) none. Every timed scrape asks for `?fresh=1`, so it reads every
 * cgroup and /proc file anew instead of sharing a sample up to 250 ms old; the benchmark checks it
 * (the scrape's `tide_container_usage_sampled_at_seconds` is later than the request's start).
 * References, interleaved with the main scrapes (one of each per iteration, the order rotating):
 * node-1's /metrics over the opt-in plain-HTTP listener (the same scrape without TLS and token; the
 * main scrape is HTTPS with a view token on a kept-alive connection, as Prometheus scrapes),
 * node-2's /metrics (the same agent code with no replica), node-1's /healthz (the HTTPS round trip),
 * and the floor of reading the containers' cgroup files (the same seven per container,
 * synchronously, in this process). Options: --replicas N (100), --scrapes N (30), --json.
 * Needs root (cgroup v1 here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Node } from '@tide/api';
import { TestCluster, isAlive, pidsMentioning, running, waitFor } from '../harness';

const BASE = 19770;
const POD_CIDR = '100.64.48.0/20';
const BUDGET_MS = 100;
/** Between two timed operations, so that each starts on a settled machine. */
const PAUSE_MS = 100;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 10) / 10;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function manifest(replicas: number): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: scrape }
spec:
  replicas: ${replicas}
  image: busybox
  command: ["sleep", "3600"]
  network: host
  resources: { requests: { cpu: 5m, memory: 4Mi }, limits: { cpu: 100m, memory: 16Mi } }
  terminationGracePeriodSeconds: 0
`;
}

/** One timed GET to the last byte; a fresh scrape must carry a sample taken after the request began. */
async function timeGet(get: () => Promise<Response>, url: string, fresh: boolean): Promise<{ ms: number; body: string }> {
  const sent = Date.now();
  const t0 = performance.now();
  const response = await get();
  const body = await response.text();
  const ms = performance.now() - t0;
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${body}`);
  if (fresh) {
    const sampledAt = Number(/^tide_container_usage_sampled_at_seconds(?:\{[^}]*\})? (\S+)$/m.exec(body)?.[1]);
    // The sample's time has millisecond precision, as Date.now() does.
    if (!(sampledAt * 1000 >= sent)) throw new Error(`GET ${url}: the scrape served a sample taken at ${sampledAt * 1000}, before the request (${sent})`);
  }
  return { ms, body };
}

const CGROUP_FILES = ['memory.stat', 'memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.oom_control'].map((f) => ['memory', f])
  .concat([['cpuacct', 'cpuacct.usage'], ['cpu', 'cpu.cfs_quota_us'], ['cpu', 'cpu.cfs_period_us']]);

/** What the agent reads per container (cgroup v1), read here the fastest way: open/read/close on this thread. */
function timeCgroupReads(groups: string[], buffer: Buffer): number {
  const t0 = performance.now();
  for (const group of groups) {
    for (const [controller, file] of CGROUP_FILES) {
      const fd = fs.openSync(`/sys/fs/cgroup/${controller}/tide/${group}/${file}`, 'r');
      buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
      fs.closeSync(fd);
    }
  }
  return performance.now() - t0;
}

type Measure = 'full' | 'plain' | 'empty' | 'healthz' | 'cgroups';

/** Where node-1's agent serves the opt-in plain-HTTP /metrics (the reference without TLS or a token). */
const PLAIN_PORT = BASE + 40;

/**
 * Starts node-1's agent again with `--metrics-insecure-listen` (tsctl up passes no agent flags), before
 * any replica runs, and waits until it answers: the same agent, its metrics also in clear.
 */
async function restartWithPlainMetrics(cluster: TestCluster, node: Node): Promise<void> {
  const [pid] = pidsMentioning('node-agent/dist/main.js').filter((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${node.metadata.name}\0`));
  if (!pid) throw new Error(`no agent process of ${node.metadata.name}`);
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  process.kill(pid, 'SIGTERM');
  await waitFor(`the agent of ${node.metadata.name} to exit`, async () => !isAlive(pid), 30_000, 100);
  const log = fs.openSync(path.join(cluster.stateDir, `${node.metadata.name}.log`), 'a');
  spawn(argv[0], [...argv.slice(1), '--metrics-insecure-listen', `${node.spec.address}:${PLAIN_PORT}`], { detached: true, stdio: ['ignore', log, log] }).unref();
  fs.closeSync(log);
  await waitFor('the plain metrics listener', async () => (await fetch(`http://${node.spec.address}:${PLAIN_PORT}/metrics`).catch(() => undefined))?.ok, 60_000, 200);
  await waitFor(`${node.metadata.name} Ready again`, async () => (await cluster.nodeList()).find((n) => n.metadata.name === node.metadata.name)?.status?.ready, 60_000, 200);
}

async function main(): Promise<void> {
  const replicas = option('replicas', 100);
  const scrapes = option('scrapes', 30);
  const json = process.argv.includes('--json');
  const cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR, upFlags: ['--consolidation', 'off'] });
  try {
    const nodes = await cluster.nodeList();
    // As Prometheus scrapes: HTTPS with a view token (checked by the control plane once, then cached
    // by the agent), over a kept-alive connection, so a timed scrape has no handshake in it.
    const view = await cluster.token('view');
    const agentOf = (name: string) => {
      const node = nodes.find((n) => n.metadata.name === name)!;
      return (pathAndQuery: string, fresh: boolean) => timeGet(() => cluster.agentFetch(node, pathAndQuery, { token: view }), `${name}${pathAndQuery}`, fresh);
    };
    const [busy, empty] = [agentOf('node-1'), agentOf('node-2')];
    const node1 = nodes.find((n) => n.metadata.name === 'node-1')!;
    await restartWithPlainMetrics(cluster, node1);
    const plainUrl = `http://${node1.spec.address}:${PLAIN_PORT}/metrics?fresh=1`;
    const cordoned = await cluster.tsctl(['cordon', 'node-2']);
    if (cordoned.code !== 0) throw new Error(cordoned.stderr);
    const applied = await cluster.apply(manifest(replicas));
    if (applied.code !== 0) throw new Error(applied.stderr);
    await waitFor(`${replicas} replicas running`, async () => running(await cluster.replicas('scrape')).length === replicas, 300_000, 500);
    const groups = fs.readdirSync('/sys/fs/cgroup/memory/tide').filter((g) => g.startsWith('default.scrape-'));
    if (groups.length !== replicas) throw new Error(`expected ${replicas} cgroups of the scrape service, found ${groups.length}`);
    const buffer = Buffer.alloc(64 * 1024);
    const ms: Record<Measure, number[]> = { full: [], plain: [], empty: [], healthz: [], cgroups: [] };
    let body = '';
    const run: Record<Measure, () => Promise<number>> = {
      full: async () => {
        const scrape = await busy('/metrics?fresh=1', true);
        body = scrape.body;
        return scrape.ms;
      },
      plain: async () => (await timeGet(() => fetch(plainUrl), plainUrl, true)).ms,
      empty: async () => (await empty('/metrics?fresh=1', false)).ms,
      healthz: async () => (await busy('/healthz', false)).ms,
      cgroups: async () => timeCgroupReads(groups, buffer),
    };
    const order: Measure[] = ['full', 'plain', 'empty', 'healthz', 'cgroups'];
    const loadBefore = os.loadavg()[0];
    for (let i = 0; i < scrapes; i++) {
      // Rotated every iteration: each measure comes first, second... equally often.
      for (let k = 0; k < order.length; k++) {
        const measure = order[(i + k) % order.length];
        await sleep(PAUSE_MS);
        ms[measure].push(await run[measure]());
      }
    }
    const containerSeries = body.split('\n').filter((l) => l.startsWith('container_cpu_usage_seconds_total{')).length;
    if (containerSeries !== replicas) throw new Error(`expected ${replicas} containers in the scrape, found ${containerSeries}`);
    const result = {
      benchmark: 'scrape', replicas, scrapes, budget_ms: BUDGET_MS, fresh_reads: true,
      load_average_before: Math.round(loadBefore * 10) / 10, load_average_after: Math.round(os.loadavg()[0] * 10) / 10,
      tide_scrape_p50_ms: percentile(ms.full, 50), tide_scrape_p99_ms: percentile(ms.full, 99), tide_scrape_max_ms: percentile(ms.full, 100),
      plain_http_scrape_p50_ms: percentile(ms.plain, 50), plain_http_scrape_p99_ms: percentile(ms.plain, 99),
      empty_node_scrape_p50_ms: percentile(ms.empty, 50), healthz_p50_ms: percentile(ms.healthz, 50),
      cgroup_files_read_p50_ms: percentile(ms.cgroups, 50),
      series: body.split('\n').filter((l) => l && !l.startsWith('#')).length, bytes: Buffer.byteLength(body),
      within_budget: percentile(ms.full, 100) < BUDGET_MS,
    };
    console.log(json ? JSON.stringify(result) : result);
  } finally {
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
