/**
 * density benchmark: N replicas (busybox `sleep`, bridge network) on one node of a real local
 * cluster, and what they cost the node agent. The reference, in the same run, is the same agent with
 * no replica: the per-replica figures are what the N replicas added to it.
 * Keys: replicas, all_running_s, starts_per_s, agent_rss_mb, agent_rss_kb_per_replica, agent_threads
 * (and at 0 replicas), agent_cpu_pct_idle, reaper_rss_mb, containers_rss_mb, tsctl_get_replicas_s.
 * `start_cpu_s`: the CPU seconds each party spent until all were Running (density.breakdown.ts);
 * `running_at_s`: when a quarter, half, three quarters and all of them were Running.
 * Options: --replicas N (1000), --base-port P (21170), --idle-seconds S (20), --json.
 * The node's slice of the container network is a /22 (1,021 addresses): a /24 holds 253.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { TestCluster, pidsMentioning, running, waitFor } from '../harness';
import { cpuPoint, cpuSpent } from './density.breakdown';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function manifest(replicas: number): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: density }
spec:
  replicas: ${replicas}
  image: busybox
  command: ["sleep", "36000"]
  resources: { requests: { cpu: 1m, memory: 4Mi } }
  terminationGracePeriodSeconds: 0
`;
}

function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

/** utime + stime in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The agent, and its reaper (the process it was started as, renamed `node-agent-reaper DIR`). */
function agentProcesses(cluster: TestCluster): { agent: number; reaper?: number } {
  const [agent] = pidsMentioning('node-agent/dist/main.js').filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cluster.stateDir));
  if (!agent) throw new Error('no agent process found');
  const parent = statusField(agent, 'PPid');
  const reaper = fs.readFileSync(`/proc/${parent}/cmdline`, 'utf8').startsWith('node-agent-reaper') ? parent : undefined;
  return { agent, ...(reaper ? { reaper } : {}) };
}

const mb = (kb: number) => Math.round(kb / 102.4) / 10;

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await run();
  return [result, (performance.now() - started) / 1000];
}

async function main(): Promise<void> {
  const replicas = option('replicas', 1000);
  const idleSeconds = option('idle-seconds', 20);
  const json = process.argv.includes('--json');
  const log = (line: string) => !json && console.log(line);
  const cluster = await TestCluster.start({ nodes: 1, basePort: option('base-port', 21170), upFlags: ['--node-cidr-mask-size', '22'] });
  try {
    const { agent, reaper } = agentProcesses(cluster);
    const baseline = { rssKb: statusField(agent, 'VmRSS'), threads: statusField(agent, 'Threads') };
    log(`agent ${agent} at 0 replicas: ${mb(baseline.rssKb)} MB, ${baseline.threads} threads`);

    const cpuBeforeStarts = cpuPoint(agent, cluster.stateDir);
    const quarters = [1, 2, 3, 4].map((q) => Math.ceil((replicas * q) / 4));
    const runningAtS: Record<string, number> = {};
    const applyStarted = performance.now();
    const [, allRunningS] = await timed(async () => {
      const applied = await cluster.apply(manifest(replicas));
      if (applied.code !== 0) throw new Error(applied.stderr);
      await waitFor(`${replicas} running`, async () => {
        const count = running(await cluster.replicas('density')).length;
        for (const q of quarters) if (count >= q && runningAtS[q] === undefined) runningAtS[q] = Math.round((performance.now() - applyStarted) / 100) / 10;
        log(`  ${count} running`);
        return count === replicas;
      }, 1_800_000, 1000);
    });
    const startCpu = cpuSpent(cpuBeforeStarts, cpuPoint(agent, cluster.stateDir));
    log(`all ${replicas} running after ${allRunningS.toFixed(1)} s`);

    await new Promise((resolve) => setTimeout(resolve, 10_000)); // status reports and probes settle
    const cpuBefore = cpuSeconds(agent);
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const cpuPctIdle = ((cpuSeconds(agent) - cpuBefore) / idleSeconds) * 100;
    const rssKb = statusField(agent, 'VmRSS');
    const pids = running(await cluster.replicas('density')).map((r) => r.status!.pid!);
    const containersRssKb = pids.reduce((sum, pid) => sum + (fs.existsSync(`/proc/${pid}`) ? statusField(pid, 'VmRSS') : 0), 0);
    const getTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [result, seconds] = await timed(() => cluster.tsctl(['get', 'replicas']));
      if (result.code !== 0) throw new Error(`tsctl get replicas: ${result.stderr}`);
      getTimes.push(seconds);
    }
    const result = {
      benchmark: 'density',
      replicas,
      all_running_s: Math.round(allRunningS * 10) / 10,
      starts_per_s: Math.round((replicas / allRunningS) * 10) / 10,
      running_at_s: runningAtS,
      start_cpu_s: startCpu,
      agent_rss_mb: mb(rssKb),
      agent_rss_kb_per_replica: Math.round((rssKb - baseline.rssKb) / replicas),
      agent_rss_mb_at_0: mb(baseline.rssKb),
      agent_threads: statusField(agent, 'Threads'),
      agent_threads_at_0: baseline.threads,
      agent_cpu_pct_idle: Math.round(cpuPctIdle * 10) / 10,
      reaper_rss_mb: reaper ? mb(statusField(reaper, 'VmRSS')) : null,
      containers_rss_mb: mb(containersRssKb),
      tsctl_get_replicas_s: Math.round(Math.max(...getTimes) * 100) / 100,
      cpus: os.cpus().length,
    };
    console.log(json ? JSON.stringify(result) : result);
  } finally {
    // 1,000 containers: deleted through the API first (the agent stops them in parallel), then
    // `tsctl down` removes whatever is left; the harness checks nothing survives.
    await cluster.tsctl(['delete', 'service', 'density']).catch(() => undefined);
    await waitFor('replicas gone', async () => (await cluster.replicas('density')).length === 0, 600_000, 2000).catch(() => undefined);
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
