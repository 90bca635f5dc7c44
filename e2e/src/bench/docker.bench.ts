/**
 * docker benchmark: `docker run --rm busybox true` through Tide (Debian's docker CLI → `tsctl
 * docker-serve` → a one-node local cluster: a Service made, scheduled, started, its exit awaited, the
 * Service removed) against the floor, the same container through runc directly (`runc run --rm` of a
 * bundle whose root is a copy of the busybox binary: no image store, no network, no scheduler).
 * Sequential runs, alternating, after one untimed warm-up each. Keys: `tide_p50_ms`, `tide_p99_ms`,
 * `runc_p50_ms`, `runc_p99_ms`, `tide_over_runc_p50`, `runs`.
 * Options: --runs N (20), --base-port P (23850: API P, agent P+11), --json.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestCluster } from '../harness';

const DOCKER = '/usr/bin/docker';
const POD_CIDR = '100.64.236.0/22';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

/** Runs a command to its end; the elapsed milliseconds, or an error with its output. */
function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => execFile(file, args, { env, timeout: 120_000 }, (error, stdout, stderr) => {
    if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}${stderr}`));
    else resolve(Number(process.hrtime.bigint() - started) / 1e6);
  }));
}

/** An OCI bundle running `true` from a static busybox, as `runc spec` makes it (no network namespace setup). */
function runcBundle(dir: string): string {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs/bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(bundle, 'rootfs/bin/busybox'));
  fs.chmodSync(path.join(bundle, 'rootfs/bin/busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(bundle, 'rootfs/bin/true'));
  execFileSync('runc', ['spec', '--bundle', bundle], { stdio: 'ignore' });
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; terminal: boolean } };
  spec.process.args = ['/bin/true'];
  spec.process.terminal = false;
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] * 10) / 10;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const say = (line: string) => (json ? console.error(line) : console.log(line));
  const runs = option('runs', 20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-docker-bench-'));
  const cluster = await TestCluster.start({ nodes: 1, basePort: option('base-port', 23850), podCidr: POD_CIDR, upFlags: ['--docker'] });
  try {
    const env = { PATH: process.env.PATH, HOME: cluster.stateDir, DOCKER_HOST: `unix://${path.join(cluster.stateDir, 'docker.sock')}`, DOCKER_CONFIG: path.join(dir, '.docker') };
    const bundle = runcBundle(dir);
    const runc = (i: number) => timed('runc', ['--root', path.join(dir, 'runc-state'), 'run', '--bundle', bundle, `tide-docker-bench-${process.pid}-${i}`], process.env);
    const tide = () => timed(DOCKER, ['run', '--rm', 'busybox', 'true'], env);
    await tide(); // untimed: the first start warms the image and the agent's pools
    await runc(-1);
    const ms = { tide: [] as number[], runc: [] as number[] };
    for (let i = 0; i < runs; i++) {
      // Alternating, so that a slow spell of the machine falls on both.
      ms.tide.push(await tide());
      ms.runc.push(await runc(i));
      say(`run ${i + 1}/${runs}: tide ${ms.tide[i].toFixed(0)} ms, runc ${ms.runc[i].toFixed(0)} ms`);
    }
    const result = {
      benchmark: 'docker', runs,
      tide_p50_ms: percentile(ms.tide, 50), tide_p99_ms: percentile(ms.tide, 99),
      runc_p50_ms: percentile(ms.runc, 50), runc_p99_ms: percentile(ms.runc, 99),
      tide_over_runc_p50: Math.round((percentile(ms.tide, 50) / percentile(ms.runc, 50)) * 10) / 10,
    };
    console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
