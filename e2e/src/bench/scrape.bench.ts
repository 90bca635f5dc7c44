/**
 * scrape benchmark: time to scrape one agent's /metrics (GET to the last byte) on a node running
 * N replicas (default 100), on a 1-node local cluster with real containers. References measured in
 * the same run: the same agent's /metrics with no replica, its /healthz (HTTP round trip), and the
 * floor of reading the containers' cgroup files (the same seven per container, synchronously, in
 * this process). Scrapes are 300 ms apart, past the agent's 250 ms sample cache, so each reads anew.
 * Options: --replicas N (100), --scrapes N (30), --json. Needs root (cgroup v1 here).
 */
import * as fs from 'node:fs';
import { TestCluster, running, waitFor } from '../harness';

const BASE = 19770;
const POD_CIDR = '100.64.48.0/20';
const BUDGET_MS = 100;

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

async function timeGets(url: string, count: number): Promise<{ ms: number[]; body: string }> {
  const ms: number[] = [];
  let body = '';
  for (let i = 0; i < count; i++) {
    await sleep(300);
    const t0 = performance.now();
    body = await (await fetch(url)).text();
    ms.push(performance.now() - t0);
  }
  return { ms, body };
}

/** What the agent reads per container (cgroup v1), read here the fastest way: open/read/close on this thread. */
function timeCgroupReads(count: number): number[] {
  const files = ['memory.stat', 'memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.oom_control'].map((f) => ['memory', f])
    .concat([['cpuacct', 'cpuacct.usage'], ['cpu', 'cpu.cfs_quota_us'], ['cpu', 'cpu.cfs_period_us']]);
  const groups = fs.readdirSync('/sys/fs/cgroup/memory/tide').filter((g) => g.startsWith('default.scrape-'));
  const buffer = Buffer.alloc(64 * 1024);
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    for (const group of groups) {
      for (const [controller, file] of files) {
        const fd = fs.openSync(`/sys/fs/cgroup/${controller}/tide/${group}/${file}`, 'r');
        buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
        fs.closeSync(fd);
      }
    }
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function main(): Promise<void> {
  const replicas = option('replicas', 100);
  const scrapes = option('scrapes', 30);
  const json = process.argv.includes('--json');
  const cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  try {
    const [node] = await cluster.nodeList();
    const agent = `http://${node.spec.address}:${node.spec.agentPort}`;
    const empty = await timeGets(`${agent}/metrics`, Math.min(10, scrapes));
    const applied = await cluster.apply(manifest(replicas));
    if (applied.code !== 0) throw new Error(applied.stderr);
    await waitFor(`${replicas} replicas running`, async () => running(await cluster.replicas('scrape')).length === replicas, 300_000, 500);
    const full = await timeGets(`${agent}/metrics`, scrapes);
    const healthz = await timeGets(`${agent}/healthz`, Math.min(10, scrapes));
    const containerSeries = full.body.split('\n').filter((l) => l.startsWith('container_cpu_usage_seconds_total{')).length;
    if (containerSeries !== replicas) throw new Error(`expected ${replicas} containers in the scrape, found ${containerSeries}`);
    const result = {
      benchmark: 'scrape', replicas, scrapes, budget_ms: BUDGET_MS,
      tide_scrape_p50_ms: percentile(full.ms, 50), tide_scrape_p99_ms: percentile(full.ms, 99), tide_scrape_max_ms: percentile(full.ms, 100),
      empty_node_scrape_p50_ms: percentile(empty.ms, 50), healthz_p50_ms: percentile(healthz.ms, 50),
      cgroup_files_read_p50_ms: percentile(timeCgroupReads(scrapes), 50),
      series: full.body.split('\n').filter((l) => l && !l.startsWith('#')).length, bytes: Buffer.byteLength(full.body),
      within_budget: percentile(full.ms, 100) < BUDGET_MS,
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
