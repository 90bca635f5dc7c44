/** cgroup v1: one directory per controller (cpu, cpuacct, memory, pids), the same relative path in each. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContainerLimits, ContainerUsage } from '../runtime.types';
import { killPids, readKeyed, readPids, removeGroupDir } from './cgroup.files';
import { CFS_PERIOD_US, cfsQuota, cpuShares, limitsOf } from './cgroup.limits';
import { CgroupManager, ContainerCgroup, DEFAULT_PIDS_LIMIT } from './cgroup.types';
import { readSmallFile, readSmallKeyed, readSmallNumber } from './cgroup.read';
import { CgroupV1Freezer } from './cgroup-v1.freezer';

const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;
type Controller = (typeof CONTROLLERS)[number];

export class CgroupV1Manager implements CgroupManager {
  readonly version = 1 as const;
  constructor(
    private readonly root: string,
    private readonly parent: string,
  ) {}

  private mounted?: Controller[];

  /** Controllers mounted on this machine (looked up once: every start opens its group several times);
   *  cpu and cpuacct are often co-mounted (same directory). */
  private controllers(): Controller[] {
    return (this.mounted ??= CONTROLLERS.filter((c) => fs.existsSync(path.join(this.root, c))));
  }

  /** Synchronous, as rename: a handful of small writes to cgroupfs, on every container start, take
   *  less time than one trip through libuv's thread pool each. */
  async create(id: string, limits: ContainerLimits): Promise<ContainerCgroup> {
    const group = this.open(id);
    for (const controller of this.controllers()) fs.mkdirSync(group.dir(controller), { recursive: true });
    group.applyLimits(limits);
    return group;
  }

  weighParent(cpuMillis: number): void {
    if (!this.controllers().includes('cpu')) return;
    const dir = path.join(this.root, 'cpu', this.parent);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cpu.shares'), String(cpuShares(cpuMillis)));
  }

  containersCpuSeconds(): number | undefined {
    const nanos = readSmallNumber(path.join(this.root, 'cpuacct', this.parent, 'cpuacct.usage'));
    return nanos === undefined ? undefined : nanos / 1e9;
  }

  open(id: string): CgroupV1 {
    const freezer = new CgroupV1Freezer(path.join(this.root, 'freezer'), path.join(this.root, 'freezer', this.parent, id));
    return new CgroupV1(id, (controller) => path.join(this.root, controller, this.parent, id), this.controllers(), `/${this.parent}/${id}`, freezer);
  }

  // --- warm starts: a pooled init joins a group of its own while it waits (joining costs an RCU
  // grace period, ~10 ms); at claim the group is renamed to the container's and given its limits.
  async rename(from: string, to: string, limits: ContainerLimits): Promise<ContainerCgroup> {
    const source = this.open(from);
    for (const controller of this.controllers()) fs.renameSync(source.dir(controller), path.join(this.root, controller, this.parent, to));
    const group = this.open(to);
    group.applyLimits(limits);
    return group;
  }

  async list(): Promise<string[]> {
    const [controller] = this.controllers();
    if (!controller) return [];
    const entries = await fs.promises.readdir(path.join(this.root, controller, this.parent), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }
}

/** The group path of a process per v1 controller, from /proc/<pid>/cgroup ("4:memory:/tide/x"). */
function groupsOf(pid: number): Map<string, string> {
  const groups = new Map<string, string>();
  const text = readSmallFile(`/proc/${pid}/cgroup`) ?? '';
  for (const line of text.split('\n')) {
    const [, controllers, group] = line.split(':');
    for (const controller of controllers?.split(',') ?? []) groups.set(controller, group);
  }
  return groups;
}

class CgroupV1 implements ContainerCgroup {
  constructor(
    readonly id: string,
    readonly dir: (controller: Controller) => string,
    private readonly controllers: Controller[],
    /** As /proc/<pid>/cgroup shows it: "/tide/<id>". */
    private readonly relativePath: string,
    /** Not one of `controllers`: its group is made at the first pause (cgroup-v1.freezer.ts says why). */
    private readonly freezer: CgroupV1Freezer,
  ) {}

  private file(controller: Controller, name: string): string {
    return path.join(this.dir(controller), name);
  }

  private write(controller: Controller, name: string, value: number | string): void {
    if (this.controllers.includes(controller)) fs.writeFileSync(this.file(controller, name), String(value));
  }

  applyLimits(limits: ContainerLimits): void {
    this.write('cpu', 'cpu.shares', cpuShares(limits.cpuRequestMillis ?? 100));
    if (limits.cpuMillis !== undefined) {
      this.write('cpu', 'cpu.cfs_period_us', CFS_PERIOD_US);
      this.write('cpu', 'cpu.cfs_quota_us', cfsQuota(limits.cpuMillis));
    }
    if (limits.memoryBytes !== undefined) {
      this.write('memory', 'memory.limit_in_bytes', limits.memoryBytes);
      // With swap accounting, memory+swap gets the same limit so that the container cannot swap around it.
      if (fs.existsSync(this.file('memory', 'memory.memsw.limit_in_bytes'))) {
        this.write('memory', 'memory.memsw.limit_in_bytes', limits.memoryBytes);
      }
    }
    this.write('pids', 'pids.max', limits.pids ?? DEFAULT_PIDS_LIMIT);
  }

  /** Skips the controllers the process is in already (a warm init): writing cgroup.procs costs an
   *  RCU grace period even then. Asynchronous: that wait (10-15 ms) must not block the agent's thread. */
  async addProcess(pid: number): Promise<void> {
    const current = groupsOf(pid);
    for (const controller of new Set(this.controllers)) {
      if (current.get(controller) !== this.relativePath) await fs.promises.writeFile(this.file(controller, 'cgroup.procs'), String(pid));
    }
  }

  /** One pass over the group's files, read synchronously (cgroup.read.ts says why). */
  async usage(previous?: ContainerUsage): Promise<ContainerUsage> {
    const cpuUsageSeconds = (readSmallNumber(this.file('cpuacct', 'cpuacct.usage')) ?? 0) / 1e9;
    if (previous && previous.cpuUsageSeconds === cpuUsageSeconds) return previous;
    const memory = (name: string) => readSmallNumber(this.file('memory', name));
    const stat = readSmallKeyed(this.file('memory', 'memory.stat'));
    const usage = memory('memory.usage_in_bytes') ?? 0;
    return {
      cpuUsageSeconds,
      memoryWorkingSetBytes: Math.max(0, usage - (stat.total_inactive_file ?? 0)),
      memoryUsageBytes: usage,
      ...(previous ? limitsOf(previous) : this.limits()),
      oomEvents: readSmallKeyed(this.file('memory', 'memory.oom_control')).oom_kill ?? 0,
    };
  }

  private limits(): Pick<ContainerUsage, 'memoryLimitBytes' | 'cpuQuotaMicros' | 'cpuPeriodMicros'> {
    const limit = readSmallNumber(this.file('memory', 'memory.limit_in_bytes'));
    // A group without a limit shows the largest page-aligned 64-bit value.
    const quota = readSmallNumber(this.file('cpu', 'cpu.cfs_quota_us')) ?? -1;
    return {
      ...(limit !== undefined && limit < 2 ** 62 ? { memoryLimitBytes: limit } : {}),
      ...(quota > 0 ? { cpuQuotaMicros: quota, cpuPeriodMicros: readSmallNumber(this.file('cpu', 'cpu.cfs_period_us')) ?? CFS_PERIOD_US } : {}),
    };
  }

  async oomKillCount(): Promise<number> {
    return (await readKeyed(this.file('memory', 'memory.oom_control'))).oom_kill ?? 0;
  }

  async pids(): Promise<number[]> {
    const controller = this.controllers.includes('pids') ? 'pids' : this.controllers[0];
    return readPids(this.file(controller, 'cgroup.procs'));
  }

  async killAll(): Promise<void> {
    await killPids(await this.pids());
  }

  freeze(): Promise<void> {
    return this.freezer.freeze(() => this.pids());
  }

  thaw(): Promise<void> {
    return this.freezer.thaw();
  }

  frozen(): boolean {
    return this.freezer.state() !== 'THAWED';
  }

  async destroy(): Promise<void> {
    // The freezer first: a frozen task does not die of the kills below until it is thawed.
    await this.freezer.destroy(() => readPids(path.join(this.freezer.dir, 'cgroup.procs')));
    for (const controller of this.controllers) {
      await removeGroupDir(this.dir(controller), () => readPids(this.file(controller, 'cgroup.procs')));
    }
  }
}
