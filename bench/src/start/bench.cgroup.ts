/**
 * The start benchmark's own cgroup, `tide-bench-<pid>`, which holds everything the benchmark runs:
 * the benchmark process itself (with its threads: Tide's runtime) in `bench`,
 * Tide's containers and warm inits under `tide`, runc's containers under `runc`. Children are born
 * in their parent's group, so runc's processes and Tide's inits count from their fork on, also
 * before they join a container's group. The CPU time of a start is the group's CPU time before and
 * after it (cpuacct.usage on cgroup v1, usage_usec of cpu.stat on v2: both count descendants).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = '/sys/fs/cgroup';
const GROUP = /^tide-bench-(\d+)$/;

export class BenchCgroup {
  readonly name = `tide-bench-${process.pid}`;
  private readonly v2 = fs.existsSync(path.join(ROOT, 'cgroup.controllers'));

  /** Where the CPU time is read: the unified tree (v2) or the cpuacct hierarchy (v1). */
  private get accounting(): string {
    return this.v2 ? ROOT : path.join(ROOT, 'cpuacct');
  }

  /** Makes the group and moves this process into it. */
  enter(): this {
    const dir = path.join(this.accounting, this.name);
    fs.mkdirSync(path.join(dir, 'bench'), { recursive: true });
    if (this.v2) {
      // A v2 group with processes in it cannot delegate controllers: the process goes to a leaf,
      // and the group hands its children (Tide's and runc's groups) the controllers they limit.
      const available = fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
      const wanted = ['cpu', 'memory', 'pids'].filter((c) => available.includes(c));
      fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    }
    fs.writeFileSync(path.join(dir, 'bench', 'cgroup.procs'), String(process.pid));
    return this;
  }

  /** CPU time of everything in the group so far, in milliseconds. */
  cpuMs(): number {
    const dir = path.join(this.accounting, this.name);
    if (!this.v2) return Number(fs.readFileSync(path.join(dir, 'cpuacct.usage'), 'utf8')) / 1e6;
    const usage = /usage_usec (\d+)/.exec(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8'));
    return Number(usage?.[1] ?? 0) / 1e3;
  }

  /** Moves this process back to the root and removes the group in every hierarchy, killing what is
   *  left in it (nothing, after a clean run). */
  remove(): void {
    fs.writeFileSync(path.join(this.accounting, 'cgroup.procs'), String(process.pid));
    for (const hierarchy of hierarchies()) removeTree(path.join(hierarchy, this.name));
  }

  /** Groups of earlier runs that were killed before they could clean up (SIGKILL, power loss). */
  static sweepStale(): void {
    for (const hierarchy of hierarchies()) {
      for (const name of fs.readdirSync(hierarchy)) {
        const pid = GROUP.exec(name)?.[1];
        if (pid && !fs.existsSync(`/proc/${pid}`)) removeTree(path.join(hierarchy, name));
      }
    }
  }
}

/** The v2 root, or every v1 hierarchy (runc makes its groups in all of them). */
function hierarchies(): string[] {
  if (fs.existsSync(path.join(ROOT, 'cgroup.controllers'))) return [ROOT];
  return fs.readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.isSymbolicLink())
    .map((e) => path.join(ROOT, e.name));
}

function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(path.join(dir, entry.name));
  }
  for (let attempt = 0; ; attempt++) {
    for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch (error) {
      // EBUSY while the killed processes are still exiting.
      if (attempt >= 200) throw new Error(`cannot remove cgroup ${dir}: ${(error as Error).message}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
