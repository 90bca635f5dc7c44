/**
 * Disk pressure, kubelet style (its `--eviction-hard` signals and defaults): `nodefs` is the
 * filesystem of the agent's state dir (containers' writable layers, logs, state files), `imagefs`
 * that of its image store; each has `available` (bytes) and `inodesFree`. A node whose signal
 * crosses its threshold is under pressure until every signal has stayed clear for the transition
 * period, so that it does not flap around the line. Pure: the monitor (disk.monitor.ts) measures.
 */
import { parseMemory } from '@tide/api';

export type DiskSignal = 'nodefs.available' | 'nodefs.inodesFree' | 'imagefs.available' | 'imagefs.inodesFree';
export const DISK_SIGNALS: readonly DiskSignal[] = ['nodefs.available', 'nodefs.inodesFree', 'imagefs.available', 'imagefs.inodesFree'];

/** Below this is pressure: a share of the filesystem's total (percent) or an amount (bytes, inodes). */
export type DiskThreshold = { percent: number } | { amount: number };
export type DiskThresholds = Partial<Record<DiskSignal, DiskThreshold>>;

/** The kubelet's defaults (memory.available aside). */
export const DEFAULT_DISK_THRESHOLDS: DiskThresholds = {
  'nodefs.available': { percent: 10 },
  'nodefs.inodesFree': { percent: 5 },
  'imagefs.available': { percent: 15 },
};

/** One filesystem as statfs(2) sees it. */
export interface FsStats {
  totalBytes: number;
  availableBytes: number;
  totalInodes: number;
  freeInodes: number;
}

export interface DiskReading {
  nodefs: FsStats;
  imagefs: FsStats;
}

export class DiskThresholdError extends Error {}

/** `nodefs.available<10%,imagefs.available<2Gi,nodefs.inodesFree<5%` (kubelet's --eviction-hard syntax). */
export function parseDiskThresholds(text: string): DiskThresholds {
  const thresholds: DiskThresholds = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-zA-Z.]+)<(.+)$/.exec(part);
    const signal = DISK_SIGNALS.find((s) => s === match?.[1]);
    if (!match || !signal) throw new DiskThresholdError(`--eviction-hard: "${part}" is not SIGNAL<VALUE with SIGNAL one of ${DISK_SIGNALS.join(', ')}`);
    thresholds[signal] = parseThreshold(signal, match[2]);
  }
  return thresholds;
}

function parseThreshold(signal: DiskSignal, value: string): DiskThreshold {
  if (value.endsWith('%')) {
    const percent = Number(value.slice(0, -1));
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new DiskThresholdError(`--eviction-hard: ${signal}<${value}: a percentage is 0-100%`);
    return { percent };
  }
  try {
    return { amount: signal.endsWith('inodesFree') ? positiveInteger(value) : parseMemory(value) };
  } catch {
    throw new DiskThresholdError(`--eviction-hard: ${signal}<${value}: give a percentage (10%) or ${signal.endsWith('inodesFree') ? 'a number of inodes' : 'a size (2Gi)'}`);
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error('not a count');
  return n;
}

/** The signals under their threshold, each with what it measured: "nodefs.available 412Mi (4%) < 10%". */
export function signalsUnderPressure(reading: DiskReading, thresholds: DiskThresholds): string[] {
  const crossed: string[] = [];
  for (const signal of DISK_SIGNALS) {
    const threshold = thresholds[signal];
    if (!threshold) continue;
    const stats = signal.startsWith('nodefs') ? reading.nodefs : reading.imagefs;
    const inodes = signal.endsWith('inodesFree');
    const have = inodes ? stats.freeInodes : stats.availableBytes;
    const total = inodes ? stats.totalInodes : stats.totalBytes;
    if (total === 0) continue; // a filesystem without inode accounting (btrfs answers 0)
    const limit = 'percent' in threshold ? (total * threshold.percent) / 100 : threshold.amount;
    if (have >= limit) continue;
    const shown = inodes ? `${have} inodes` : formatBytes(have);
    const wanted = 'percent' in threshold ? `${threshold.percent}%` : inodes ? String(threshold.amount) : formatBytes(threshold.amount);
    crossed.push(`${signal} ${shown} (${Math.floor((have * 100) / total)}%) < ${wanted}`);
  }
  return crossed;
}

/** The DiskPressure condition over time: set at once, cleared after `transitionMs` without a crossed signal. */
export class PressureState {
  private underSince?: number;
  private lastCrossedMs?: number;
  private message = '';

  constructor(private readonly transitionMs: number) {}

  /** Answers whether the node is under pressure now. */
  observe(crossed: string[], nowMs: number): boolean {
    if (crossed.length > 0) {
      this.underSince ??= nowMs;
      this.lastCrossedMs = nowMs;
      this.message = crossed.join('; ');
    } else if (this.underSince !== undefined && nowMs - (this.lastCrossedMs ?? nowMs) >= this.transitionMs) {
      this.underSince = undefined;
      this.message = '';
    }
    return this.underSince !== undefined;
  }

  get pressure(): { since: number; message: string } | undefined {
    return this.underSince === undefined ? undefined : { since: this.underSince, message: this.message };
  }
}

function formatBytes(bytes: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value >= 100 ? 0 : 1)}${units[unit]}`;
}
