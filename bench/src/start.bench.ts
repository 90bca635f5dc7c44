/**
 * start benchmark: latency from "start this container" to the user's process running, for Tide's
 * runtime and for runc (Debian's), same busybox root filesystem, same namespaces (pid, mount, uts,
 * ipc; host network) and the same cgroup limits, interleaved in one run.
 *   Tide: LinuxRuntime.start() resolving (it resolves once execve of the user's command succeeded).
 *   runc: `runc run --detach` returning (it returns once the container process has been started).
 * Options: --iterations N (30), --json. Needs root.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore, LinuxRuntime, ensureBusyboxImage } from '@tide/runtime';

const LIMITS = { cpuMillis: 500, memoryBytes: 64 * 2 ** 20, pids: 1024 };
const ARGV = ['sleep', '3600'];

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

async function timeRunc(bundle: string, id: string): Promise<number> {
  const t0 = performance.now();
  const code = await run('runc', ['run', '--detach', '--bundle', bundle, id]);
  const elapsed = performance.now() - t0;
  if (code !== 0) throw new Error(`runc run exited ${code}`);
  await run('runc', ['delete', '--force', id]);
  return elapsed;
}

async function timeTide(runtime: LinuxRuntime, id: string): Promise<number> {
  const t0 = performance.now();
  await runtime.start({ id, hostname: 'bench', image: 'busybox', argv: ARGV, env: {}, limits: LIMITS, labels: {} });
  const elapsed = performance.now() - t0;
  await runtime.stop(id, 0);
  await runtime.remove(id);
  return elapsed;
}

async function main(): Promise<void> {
  const iterations = option('iterations', 30);
  const json = process.argv.includes('--json');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-bench-start-'));
  const runtime = new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images') });
  const tide: number[] = [];
  const runc: number[] = [];
  try {
    await ensureBusyboxImage(path.join(dir, 'images'));
    const image = await new ImageStore(path.join(dir, 'images')).resolve('busybox');
    const bundle = runcBundle(dir, image.layerDirs[0]);
    // One untimed start of each, so that neither pays for the first loading of its binaries.
    await timeTide(runtime, 'bench-warmup');
    await timeRunc(bundle, 'bench-warmup');
    for (let i = 0; i < iterations; i++) {
      tide.push(await timeTide(runtime, `bench-tide-${i}`));
      runc.push(await timeRunc(bundle, `bench-runc-${i}`));
    }
  } finally {
    for (const c of await runtime.list()) await runtime.remove(c.id).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    benchmark: 'start', iterations,
    tide_cold_p50_ms: percentile(tide, 50), tide_cold_p99_ms: percentile(tide, 99),
    // No warm pool of inits exists yet (issue 3): reported as null rather than guessed.
    tide_warm_p50_ms: null, tide_warm_p99_ms: null,
    runc_p50_ms: percentile(runc, 50), runc_p99_ms: percentile(runc, 99),
    cold_over_runc_p50: Math.round((percentile(tide, 50) / percentile(runc, 50)) * 100) / 100,
  };
  console.log(json ? JSON.stringify(result) : result);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
