/** One interface over cgroup v1 and v2: limits, membership, usage, OOM kills, teardown. */
import * as fs from 'node:fs';
import { ContainerLimits, ContainerUsage } from '../runtime.types';
import { CgroupV1Manager } from './cgroup-v1';
import { CgroupV2Manager } from './cgroup-v2';

export const DEFAULT_PIDS_LIMIT = 1024;

export interface ContainerCgroup {
  readonly id: string;
  addProcess(pid: number): Promise<void>;
  usage(): Promise<ContainerUsage>;
  oomKillCount(): Promise<number>;
  /** Pids still in the group. */
  pids(): Promise<number[]>;
  killAll(): Promise<void>;
  /** Kills what is left, waits until the group is empty and removes it. Idempotent. */
  destroy(): Promise<void>;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  create(id: string, limits: ContainerLimits): Promise<ContainerCgroup>;
  open(id: string): ContainerCgroup;
  // --- warm starts (cgroup v1 only: v2 cannot rename a group, there warm inits join at claim)
  /** Renames a group (one a warm init joined ahead of time) to its container's and sets its limits. */
  rename?(from: string, to: string, limits: ContainerLimits): Promise<ContainerCgroup>;
  /** Names of the groups under the parent. */
  list?(): Promise<string[]>;
}

export interface CgroupOptions {
  /** Mount point of the hierarchy (default /sys/fs/cgroup). */
  root?: string;
  /** Parent group of every container group (default "tide"). */
  parent?: string;
}

/** Pure v2 when the root itself is a v2 hierarchy, otherwise the v1 controllers. */
export function detectCgroups(options: CgroupOptions = {}): CgroupManager {
  const root = options.root ?? '/sys/fs/cgroup';
  const parent = options.parent ?? 'tide';
  if (fs.existsSync(`${root}/cgroup.controllers`)) return new CgroupV2Manager(root, parent);
  return new CgroupV1Manager(root, parent);
}

/** CPU shares (v1) from a request in millicores: 1024 per core, at least 2. */
export function cpuShares(requestMillis: number): number {
  return Math.max(2, Math.round((requestMillis * 1024) / 1000));
}

/** CPU weight (v2, 1..10000) from v1 shares, the conversion runc and Kubernetes use. */
export function cpuWeight(shares: number): number {
  return Math.min(10000, Math.max(1, Math.round(1 + ((shares - 2) * 9999) / 262142)));
}

export const CFS_PERIOD_US = 100_000;

/** CFS quota for a limit in millicores: 500m → 50000 of every 100000 µs. */
export function cfsQuota(limitMillis: number): number {
  return Math.max(1000, Math.round((limitMillis * CFS_PERIOD_US) / 1000));
}

/** Reads "key value" lines (memory.stat, memory.events, cpu.stat, memory.oom_control). */
export async function readKeyed(file: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key) out[key] = Number(value);
  }
  return out;
}

export async function readPids(file: string): Promise<number[]> {
  const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

export async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** rmdir retried while the kernel finishes reaping the group's last tasks. */
export async function removeGroupDir(dir: string, pidsOf: () => Promise<number[]>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!fs.existsSync(dir)) return;
    const pids = await pidsOf();
    if (pids.length > 0) await killPids(pids);
    try {
      await fs.promises.rmdir(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`cannot remove cgroup ${dir}: still busy`);
}
