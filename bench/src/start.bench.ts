/**
 * start benchmark: latency from "start this container" to the user's process running, for Tide's
 * runtime and for runc (Debian's), doing the same work (start/runc.reference.ts): a fresh overlay
 * root per container, busybox, namespaces pid, mount, uts, ipc (host network), the same mounts,
 * limits, capabilities and no_new_privs. Contestants, in an order that rotates every iteration:
 *   tide_cold: LinuxRuntime.start() resolving (execve of the command done), no pool.
 *   tide_warm: the same with a warm pool whose inits have booted; the refill after it is untimed.
 *   runc: snapshot + overlay mount + config.json + `runc run --detach` returning.
 *   runc_start_only: `runc create` untimed (as the pool's boot is), `runc start` timed.
 * Then bursts of N concurrent starts (no refill wait in between) for tide_warm and runc; the CPU
 * time per start (pool refill included) from the cgroup everything runs in (start/bench.cgroup.ts).
 * Options: --iterations N (20), --burst N (10), --bursts N (3), --pool N (the agent's default),
 * --breakdown (medians of each step's timestamp, cold and warm), --unconfined (Tide without its
 * seccomp filter, which it installs by default), --seccomp-compare (adds tide_cold_unconfined and
 * tide_warm_unconfined to the rotation: the filter's cost under the same load), --runc-seccomp (runc
 * gets the same profile in OCI form, as Docker gives it; by default it has none, as `runc spec`), --json.
 * Needs root.
 * `seccomp_install_us` and `seccomp_compile_ms` are the filter's own costs (start/seccomp.cost.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_WARM_POOL, ImageStore, LinuxRuntime, StartTraceRecord, detectCgroups, ensureBusyboxImage, ociSeccompProfile } from '@tide/runtime';
import { BenchCgroup } from './start/bench.cgroup';
import { Breakdown, medianSteps, printBreakdown } from './start/breakdown';
import { Contestant, Workload, runcRunContestant, runcStartOnlyContestant, tideContestant } from './start/contestant';
import { RuncReference } from './start/runc.reference';
import { SeccompCost, measureSeccompCost } from './start/seccomp.cost';
import { mean, p50, p99, ratioP50 } from './start/stats';

const WORK: Workload = {
  argv: ['sleep', '3600'], limits: { cpuMillis: 500, memoryBytes: 64 * 2 ** 20, pids: 1024 },
  ...(process.argv.includes('--unconfined') ? { seccompProfile: 'Unconfined' as const } : {}),
};
const UNCONFINED: Workload = { ...WORK, seccompProfile: 'Unconfined' };
const SETTLE_MS = 100;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/**
 * Untimed, before every timed start. Joining a cgroup (writing cgroup.procs) costs an RCU grace
 * period (~10 ms here) unless another join happened within the last grace period: without this
 * pause each contestant would ride on the cgroup writes of the one timed before it.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

interface Sample {
  ms: number;
  cpuMs: number;
}

async function measure(contestant: Contestant, id: string, group: BenchCgroup): Promise<Sample> {
  await contestant.prepare?.(id);
  await settle();
  const cpu0 = group.cpuMs();
  const t0 = performance.now();
  await contestant.start(id);
  const ms = performance.now() - t0;
  await contestant.after?.();
  const cpuMs = group.cpuMs() - cpu0;
  await contestant.remove(id);
  return { ms, cpuMs };
}

/** N starts at once, each timed from the burst's beginning to its own end; the CPU of the whole burst. */
async function burst(contestant: Contestant, ids: string[], group: BenchCgroup): Promise<{ ms: number[]; cpuMs: number }> {
  await contestant.prepare?.(ids[0]);
  await settle();
  const cpu0 = group.cpuMs();
  const t0 = performance.now();
  const ms = await Promise.all(ids.map((id) => contestant.start(id).then(() => performance.now() - t0)));
  await contestant.after?.();
  const cpuMs = group.cpuMs() - cpu0;
  await Promise.all(ids.map((id) => contestant.remove(id)));
  return { ms, cpuMs };
}

/** Rounds of bursts, the contestants' order swapped every round. */
async function runBursts(
  bursting: Contestant[],
  r: { bursts: number; burstSize: number; group: BenchCgroup; burstMs: Map<string, number[]>; burstCpu: Map<string, number[]> },
): Promise<void> {
  for (let round = 0; round < r.bursts; round++) {
    for (const c of round % 2 === 0 ? bursting : [...bursting].reverse()) {
      const ids = Array.from({ length: r.burstSize }, (_, n) => `bench-burst-${c.name}-${round}-${n}`);
      const result = await burst(c, ids, r.group);
      r.burstMs.set(c.name, [...(r.burstMs.get(c.name) ?? []), ...result.ms]);
      r.burstCpu.set(c.name, [...(r.burstCpu.get(c.name) ?? []), result.cpuMs / r.burstSize]);
    }
  }
}

/** Runs `work` once, then every cleanup step registered, also after a failure or a signal. */
async function withCleanup(work: (onCleanup: (step: () => unknown) => void) => Promise<void>): Promise<void> {
  const steps: (() => unknown)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const step of steps.reverse()) {
        try {
          await step();
        } catch (error) {
          console.error(`cleanup: ${(error as Error).message}`);
        }
      }
    })());
  const onSignal = (signal: NodeJS.Signals) => void cleanup().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await work((step) => steps.push(step));
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  const iterations = option('iterations', 20);
  const burstSize = option('burst', 10);
  const bursts = option('bursts', 3);
  const pool = option('pool', DEFAULT_WARM_POOL);
  const json = process.argv.includes('--json');
  const breakdown = process.argv.includes('--breakdown');
  const compare = process.argv.includes('--seccomp-compare');
  const seq = new Map<string, Sample[]>();
  const burstMs = new Map<string, number[]>();
  const burstCpu = new Map<string, number[]>();
  const traces: StartTraceRecord[] = [];
  await withCleanup(async (onCleanup) => {
    BenchCgroup.sweepStale();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-bench-start-'));
    onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    const group = new BenchCgroup().enter();
    onCleanup(() => group.remove());
    const imageDir = path.join(dir, 'images');
    await ensureBusyboxImage(imageDir);
    const layerDirs = (await new ImageStore(imageDir).resolve('busybox')).layerDirs;
    const runtime = (name: string, warmPool: number, onStartTrace?: (r: StartTraceRecord) => void) => {
      const cgroups = detectCgroups({ parent: `${group.name}/tide` });
      const made = new LinuxRuntime({ stateDir: path.join(dir, name), imageDir, cgroups, warmPool, ...(onStartTrace ? { onStartTrace } : {}) });
      onCleanup(async () => {
        await made.close();
        for (const c of await made.list()) await made.remove(c.id);
      });
      return made;
    };
    const runcSeccomp = process.argv.includes('--runc-seccomp') ? { seccomp: ociSeccompProfile() } : {};
    const runc = new RuncReference({ dir, layerDirs, cgroupParent: `${group.name}/runc`, ...WORK, ...runcSeccomp });
    onCleanup(() => runc.cleanup());
    const contestants = [
      tideContestant('tide_cold', runtime('cold', 0), WORK),
      tideContestant('tide_warm', runtime('warm', pool), WORK),
      runcRunContestant(runc),
      runcStartOnlyContestant(runc),
      // The same starts without the filter, interleaved with the rest: the filter's cost under the same load.
      ...(compare ? [
        tideContestant('tide_cold_unconfined', runtime('cold-unconfined', 0), UNCONFINED),
        tideContestant('tide_warm_unconfined', runtime('warm-unconfined', pool), UNCONFINED),
      ] : []),
    ];
    // One untimed start of each, so that none pays for the first loading of its binaries.
    for (const c of contestants) await measure(c, `bench-first-${c.name}`, group);
    for (let i = 0; i < iterations; i++) {
      for (let k = 0; k < contestants.length; k++) {
        const c = contestants[(i + k) % contestants.length];
        seq.set(c.name, [...(seq.get(c.name) ?? []), await measure(c, `bench-${c.name}-${i}`, group)]);
      }
    }
    await runBursts([contestants[1], contestants[2]], { bursts, burstSize, group, burstMs, burstCpu });
    if (breakdown) {
      const traced = [tideContestant('cold', runtime('traced-cold', 0, (r) => traces.push(r)), WORK), tideContestant('warm', runtime('traced-warm', pool, (r) => traces.push(r)), WORK)];
      for (let i = 0; i < iterations; i++) for (const c of i % 2 === 0 ? traced : [...traced].reverse()) await measure(c, `bench-traced-${c.name}-${i}`, group);
    }
  });
  report({ iterations, burstSize, bursts, pool, json, seq, burstMs, burstCpu, traces: breakdown ? traces : undefined, seccomp: measureSeccompCost() });
}

interface Results {
  iterations: number;
  burstSize: number;
  bursts: number;
  pool: number;
  json: boolean;
  seq: Map<string, Sample[]>;
  burstMs: Map<string, number[]>;
  burstCpu: Map<string, number[]>;
  traces?: StartTraceRecord[];
  seccomp: SeccompCost;
}

function report(r: Results): void {
  const ms = (name: string) => r.seq.get(name)!.map((s) => s.ms);
  const cpu = (name: string) => r.seq.get(name)!.map((s) => s.cpuMs);
  let steps: { cold: Breakdown; warm: Breakdown } | undefined;
  if (r.traces) {
    steps = { cold: medianSteps(r.traces.filter((t) => !t.warm)), warm: medianSteps(r.traces.filter((t) => t.warm)) };
    printBreakdown('Tide cold', steps.cold, r.traces.filter((t) => !t.warm).length);
    printBreakdown('Tide warm', steps.warm, r.traces.filter((t) => t.warm).length);
  }
  const result = {
    benchmark: 'start', iterations: r.iterations, warm_pool: r.pool,
    tide_cold_p50_ms: p50(ms('tide_cold')), tide_cold_p99_ms: p99(ms('tide_cold')),
    tide_warm_p50_ms: p50(ms('tide_warm')), tide_warm_p99_ms: p99(ms('tide_warm')),
    runc_p50_ms: p50(ms('runc')), runc_p99_ms: p99(ms('runc')),
    runc_start_only_p50_ms: p50(ms('runc_start_only')), runc_start_only_p99_ms: p99(ms('runc_start_only')),
    cold_over_runc_p50: ratioP50(ms('tide_cold'), ms('runc')),
    warm_over_runc_p50: ratioP50(ms('tide_warm'), ms('runc')),
    warm_over_runc_start_only_p50: ratioP50(ms('tide_warm'), ms('runc_start_only')),
    burst: r.burstSize, bursts: r.bursts,
    tide_warm_burst_p50_ms: p50(r.burstMs.get('tide_warm')!), tide_warm_burst_p99_ms: p99(r.burstMs.get('tide_warm')!),
    runc_burst_p50_ms: p50(r.burstMs.get('runc')!), runc_burst_p99_ms: p99(r.burstMs.get('runc')!),
    tide_cpu_ms_per_start: mean(cpu('tide_warm')), tide_cold_cpu_ms_per_start: mean(cpu('tide_cold')),
    runc_cpu_ms_per_start: mean(cpu('runc')),
    tide_burst_cpu_ms_per_start: mean(r.burstCpu.get('tide_warm')!), runc_burst_cpu_ms_per_start: mean(r.burstCpu.get('runc')!),
    seccomp: WORK.seccompProfile ?? 'RuntimeDefault', runc_seccomp: process.argv.includes('--runc-seccomp') ? 'RuntimeDefault' : 'none',
    ...(r.seq.has('tide_warm_unconfined') ? {
      tide_cold_unconfined_p50_ms: p50(ms('tide_cold_unconfined')), tide_warm_unconfined_p50_ms: p50(ms('tide_warm_unconfined')),
      cold_unconfined_over_runc_p50: ratioP50(ms('tide_cold_unconfined'), ms('runc')),
      warm_unconfined_over_runc_start_only_p50: ratioP50(ms('tide_warm_unconfined'), ms('runc_start_only')),
    } : {}),
    seccomp_install_us: r.seccomp.installUs, seccomp_compile_ms: r.seccomp.compileMs,
    ...(steps ? { breakdown_ms: steps } : {}),
  };
  console.log(r.json ? JSON.stringify(result) : result);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
