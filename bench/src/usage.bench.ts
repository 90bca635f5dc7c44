/**
 * usage benchmark: what one usage sample of an idle node's containers costs the agent, every second
 * (the control plane's usage report). `full`: each group read as a first sample reads it (CPU time,
 * memory usage, memory.stat, OOM events and the limits: six files on cgroup v2, seven on v1), which
 * is what every sample cost before; `unchanged`: given each group's previous sample, with a CPU time
 * that did not move (an idle container), as the agent samples now. Both in the same run, over the
 * same groups: cgroup v2 directories in a temporary dir with the files' usual contents (the kernel
 * serves real ones from memory too; no cgroup is made, so it needs no root). Per sample of all
 * groups: `_cpu_ms` (process CPU time) and `_files_read` (opened per sample).
 * Options: --groups N (1000), --samples N (20), --json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerCgroup, ContainerUsage, detectCgroups } from '@tide/runtime';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const FILES: Record<string, string> = {
  'cpu.stat': 'usage_usec 1523000\nuser_usec 1000000\nsystem_usec 523000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
  'memory.current': '524288\n',
  'memory.stat': `${['anon 262144', 'file 262144', 'kernel_stack 16384', 'sock 0', 'shmem 0', 'file_mapped 131072', 'file_dirty 0', 'file_writeback 0', 'inactive_anon 0', 'active_anon 262144', 'inactive_file 131072', 'active_file 131072', 'unevictable 0', 'pgfault 1200', 'pgmajfault 3'].join('\n')}\n`,
  'memory.max': '4194304\n',
  'cpu.max': 'max 100000\n',
  'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n',
};

/** CPU ms of the process for one call of `run`, averaged over `samples`. */
async function cpuMs(samples: number, run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < samples; i++) await run();
  const spent = process.cpuUsage(before);
  return Math.round(((spent.user + spent.system) / 1000 / samples) * 10) / 10;
}

async function main(): Promise<void> {
  const groups = option('groups', 1000);
  const samples = option('samples', 20);
  const json = process.argv.includes('--json');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-usage-bench-'));
  try {
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    const manager = detectCgroups({ root });
    const all: ContainerCgroup[] = [];
    for (let i = 0; i < groups; i++) {
      const dir = path.join(root, 'tide', `c${i}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(FILES)) fs.writeFileSync(path.join(dir, file), text);
      all.push(manager.open(`c${i}`));
    }
    const previous: ContainerUsage[] = await Promise.all(all.map((group) => group.usage()));
    for (let round = 0; round < 3; round++) await Promise.all(all.map((group, i) => group.usage(previous[i]))); // warm the JIT for both
    const full = await cpuMs(samples, () => Promise.all(all.map((group) => group.usage())));
    const unchanged = await cpuMs(samples, () => Promise.all(all.map((group, i) => group.usage(previous[i]))));
    const result = {
      benchmark: 'usage', groups, samples,
      full_cpu_ms: full, full_files_read: groups * Object.keys(FILES).length,
      unchanged_cpu_ms: unchanged, unchanged_files_read: groups,
      full_over_unchanged: Math.round((full / unchanged) * 10) / 10,
    };
    console.log(json ? JSON.stringify(result) : result);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
