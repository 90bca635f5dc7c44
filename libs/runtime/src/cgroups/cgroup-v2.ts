/** cgroup v2: one unified tree; the parent delegates controllers through cgroup.subtree_control. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContainerLimits, ContainerUsage } from '../runtime.types';
import { killPids, readKeyed, readPids, removeGroupDir } from './cgroup.files';
import { CFS_PERIOD_US, cfsQuota, cpuShares, cpuWeight, limitsOf } from './cgroup.limits';
import { CgroupManager, ContainerCgroup, DEFAULT_PIDS_LIMIT } from './cgroup.types';
import { readSmallFile, readSmallKeyed, readSmallNumber } from './cgroup.read';

/** A freeze waits this long for every task to stop (one in an uninterruptible sleep holds it). */
const FREEZE_TIMEOUT_MS = 5_000;

export class CgroupV2Manager implements CgroupManager {
  readonly version = 2 as const;
  constructor(
    private readonly root: string,
    private readonly parent: string,
  ) {}

  async create(id: string, limits: ContainerLimits): Promise<ContainerCgroup> {
    const parentDir = path.join(this.root, this.parent);
    await fs.promises.mkdir(parentDir, { recursive: true });
    await this.delegate(this.root);
    await this.delegate(parentDir);
    const group = this.open(id);
    await fs.promises.mkdir(group.dir, { recursive: true });
    await group.applyLimits(limits);
    return group;
  }

  containersCpuSeconds(): number | undefined {
    const micros = readSmallKeyed(path.join(this.root, this.parent, 'cpu.stat')).usage_usec;
    return micros === undefined ? undefined : micros / 1e6;
  }

  /** Synchronous: once, when the runtime is made. The weight file exists once the root delegates cpu. */
  weighParent(cpuMillis: number): void {
    const parentDir = path.join(this.root, this.parent);
    fs.mkdirSync(parentDir, { recursive: true });
    const available = (readSmallFile(path.join(this.root, 'cgroup.controllers')) ?? '').split(/\s+/);
    if (!available.includes('cpu')) return;
    fs.writeFileSync(path.join(this.root, 'cgroup.subtree_control'), '+cpu');
    fs.writeFileSync(path.join(parentDir, 'cpu.weight'), String(cpuWeight(cpuShares(cpuMillis))));
  }

  /** Enables for children every controller this group has among cpu, memory, pids. */
  private async delegate(dir: string): Promise<void> {
    const available = (await fs.promises.readFile(path.join(dir, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    const wanted = ['cpu', 'memory', 'pids'].filter((c) => available.includes(c));
    if (wanted.length === 0) return;
    await fs.promises.writeFile(path.join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
  }

  open(id: string): CgroupV2 {
    return new CgroupV2(id, path.join(this.root, this.parent, id));
  }
}

export class CgroupV2 implements ContainerCgroup {
  constructor(
    readonly id: string,
    readonly dir: string,
  ) {}

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Writes a limit if the controller is enabled here (its interface file exists). */
  private async writeIfPresent(name: string, value: string | number): Promise<void> {
    if (fs.existsSync(this.file(name))) await fs.promises.writeFile(this.file(name), String(value));
  }

  async applyLimits(limits: ContainerLimits): Promise<void> {
    await this.writeIfPresent('cpu.weight', cpuWeight(cpuShares(limits.cpuRequestMillis ?? 100)));
    if (limits.cpuMillis !== undefined) await this.writeIfPresent('cpu.max', `${cfsQuota(limits.cpuMillis)} ${CFS_PERIOD_US}`);
    if (limits.memoryBytes !== undefined) {
      await this.writeIfPresent('memory.max', limits.memoryBytes);
      await this.writeIfPresent('memory.swap.max', 0);
    }
    await this.writeIfPresent('pids.max', limits.pids ?? DEFAULT_PIDS_LIMIT);
  }

  async addProcess(pid: number): Promise<void> {
    await fs.promises.writeFile(this.file('cgroup.procs'), String(pid));
  }

  /** One pass over the group's files, read synchronously (cgroup.read.ts says why). */
  async usage(previous?: ContainerUsage): Promise<ContainerUsage> {
    const cpuUsageSeconds = (readSmallKeyed(this.file('cpu.stat')).usage_usec ?? 0) / 1e6;
    if (previous && previous.cpuUsageSeconds === cpuUsageSeconds) return previous;
    const memory = readSmallKeyed(this.file('memory.stat'));
    const current = readSmallNumber(this.file('memory.current')) ?? 0;
    return {
      cpuUsageSeconds,
      memoryWorkingSetBytes: Math.max(0, current - (memory.inactive_file ?? 0)),
      memoryUsageBytes: current,
      ...(previous ? limitsOf(previous) : this.limits()),
      oomEvents: readSmallKeyed(this.file('memory.events')).oom_kill ?? 0,
    };
  }

  private limits(): Pick<ContainerUsage, 'memoryLimitBytes' | 'cpuQuotaMicros' | 'cpuPeriodMicros'> {
    const max = readSmallFile(this.file('memory.max'))?.trim() ?? 'max';
    const [quota, period] = (readSmallFile(this.file('cpu.max')) ?? 'max').trim().split(/\s+/);
    return {
      ...(max !== 'max' ? { memoryLimitBytes: Number(max) } : {}),
      ...(quota !== 'max' ? { cpuQuotaMicros: Number(quota), cpuPeriodMicros: Number(period ?? CFS_PERIOD_US) } : {}),
    };
  }

  async oomKillCount(): Promise<number> {
    return (await readKeyed(this.file('memory.events'))).oom_kill ?? 0;
  }

  async pids(): Promise<number[]> {
    return readPids(this.file('cgroup.procs'));
  }

  async killAll(): Promise<void> {
    // cgroup.kill (Linux 5.14) kills every task atomically, also ones forked meanwhile.
    if (fs.existsSync(this.file('cgroup.kill'))) await fs.promises.writeFile(this.file('cgroup.kill'), '1');
    else await killPids(await this.pids());
  }

  /** cgroup.freeze (Linux 5.2); cgroup.events says "frozen 1" once every task has stopped. */
  async freeze(): Promise<void> {
    if (!fs.existsSync(this.file('cgroup.freeze'))) throw new Error(`cannot pause: ${this.dir} has no cgroup.freeze (the v2 freezer needs Linux 5.2 or later)`);
    await fs.promises.writeFile(this.file('cgroup.freeze'), '1');
    await this.settle(1);
  }

  async thaw(): Promise<void> {
    if (!fs.existsSync(this.file('cgroup.freeze'))) return;
    await fs.promises.writeFile(this.file('cgroup.freeze'), '0');
    await this.settle(0);
  }

  /** What was asked (cgroup.freeze), not whether every task has stopped yet (cgroup.events). */
  frozen(): boolean {
    return readSmallFile(this.file('cgroup.freeze'))?.trim() === '1';
  }

  private async settle(frozen: 0 | 1): Promise<void> {
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    while ((readSmallKeyed(this.file('cgroup.events')).frozen ?? 0) !== frozen) {
      if (Date.now() > deadline) throw new Error(`${this.dir}: cgroup.events still says frozen ${1 - frozen} after ${FREEZE_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async destroy(): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    // cgroup.kill and SIGKILL reach frozen tasks in v2 (the kernel wakes them to die): no thaw first.
    await this.killAll();
    await removeGroupDir(this.dir, () => this.pids());
  }
}
