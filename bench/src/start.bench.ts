/**
 * start benchmark: latency from "start this container" to the user's process running, for Tide's
 * runtime and for runc (Debian's), same busybox root filesystem, same namespaces (pid, mount, uts,
 * ipc; host network) and the same cgroup limits, interleaved in one run.
 *   Tide cold: LinuxRuntime.start() resolving (once execve of the user's command succeeded), no pool.
 *   Tide warm: the same with a warm pool whose init has booted (the refill between starts is untimed).
 *   runc: `runc run --detach` returning (it returns once the container process has been started).
 * Options: --iterations N (20), --json. Needs root.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore, LinuxRuntime, ensureBusyboxImage } from '@tide/runtime';

const LIMITS = { cpuMillis: 500, memoryBytes: 64 * 2 ** 20, pids: 1024 };
const ARGV = ['sleep', '3600'];
const SETTLE_MS = 100;

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 10) / 10;
}

/** An OCI bundle for runc over a copy of the busybox layer, with the same limits and namespaces as Tide. */
function runcBundle(dir: string, layerDir: string): string {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle, { recursive: true });
  execFileSync('cp', ['-a', layerDir, path.join(bundle, 'rootfs')]);
  execFileSync('runc', ['spec'], { cwd: bundle });
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ARGV;
  spec.process.env = ['PATH=/bin:/usr/bin:/sbin:/usr/sbin'];
  spec.root = { path: 'rootfs', readonly: false };
  spec.hostname = 'bench';
  spec.linux.namespaces = ['pid', 'mount', 'uts', 'ipc'].map((type) => ({ type }));
  spec.linux.resources = {
    memory: { limit: LIMITS.memoryBytes },
    cpu: { quota: (LIMITS.cpuMillis * 100_000) / 1000, period: 100_000 },
    pids: { limit: LIMITS.pids },
  };
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * Untimed, before every timed start. Joining a cgroup (writing cgroup.procs) costs an RCU grace
 * period (~10 ms here) unless another join happened within the last grace period: without this
 * pause each contestant would ride on the cgroup writes of the one timed before it.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

async function timeRunc(bundle: string, id: string): Promise<number> {
  await settle();
  const t0 = performance.now();
  const code = await run('runc', ['run', '--detach', '--bundle', bundle, id]);
  const elapsed = performance.now() - t0;
  if (code !== 0) throw new Error(`runc run exited ${code}`);
  await run('runc', ['delete', '--force', id]);
  return elapsed;
}

async function timeTide(runtime: LinuxRuntime, id: string): Promise<number> {
  await runtime.warmUp(); // untimed: a no-op without a pool, waits for the refill with one
  await settle();
  const t0 = performance.now();
  await runtime.start({ id, hostname: 'bench', image: 'busybox', argv: ARGV, env: {}, limits: LIMITS, labels: {} });
  const elapsed = performance.now() - t0;
  await runtime.stop(id, 0);
  await runtime.remove(id);
  await runtime.warmUp(); // the refill must not run under the next measurement (of any contestant)
  return elapsed;
}

const ratio = (a: number[], b: number[]) => Math.round((percentile(a, 50) / percentile(b, 50)) * 100) / 100;

async function main(): Promise<void> {
  const iterations = option('iterations', 20);
  const json = process.argv.includes('--json');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-bench-start-'));
  const options = { stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images') };
  const cold = new LinuxRuntime({ ...options, warmPool: 0 });
  const warm = new LinuxRuntime({ ...options, warmPool: 1 });
  const times = { cold: [] as number[], warm: [] as number[], runc: [] as number[] };
  try {
    await ensureBusyboxImage(options.imageDir);
    const image = await new ImageStore(options.imageDir).resolve('busybox');
    const bundle = runcBundle(dir, image.layerDirs[0]);
    // One untimed start of each, so that none pays for the first loading of its binaries.
    await timeTide(cold, 'bench-warmup-cold');
    await timeTide(warm, 'bench-warmup-warm');
    await timeRunc(bundle, 'bench-warmup');
    for (let i = 0; i < iterations; i++) {
      times.cold.push(await timeTide(cold, `bench-cold-${i}`));
      times.warm.push(await timeTide(warm, `bench-warm-${i}`));
      times.runc.push(await timeRunc(bundle, `bench-runc-${i}`));
    }
  } finally {
    await warm.close();
    for (const c of await cold.list()) await cold.remove(c.id).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    benchmark: 'start', iterations,
    tide_cold_p50_ms: percentile(times.cold, 50), tide_cold_p99_ms: percentile(times.cold, 99),
    tide_warm_p50_ms: percentile(times.warm, 50), tide_warm_p99_ms: percentile(times.warm, 99),
    runc_p50_ms: percentile(times.runc, 50), runc_p99_ms: percentile(times.runc, 99),
    cold_over_runc_p50: ratio(times.cold, times.runc), warm_over_runc_p50: ratio(times.warm, times.runc),
  };
  console.log(json ? JSON.stringify(result) : result);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
