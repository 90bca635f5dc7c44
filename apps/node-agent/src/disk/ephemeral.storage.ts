/**
 * Bounds each container's writable layer (its overlay upperdir) by the template's
 * `resources.limits.ephemeral-storage`, as kubelet's eviction manager does: it measures the layer
 * every interval (the bytes its files take on disk, each inode once, as `du`) and a container over its
 * limit is evicted with the reason `EphemeralStorageExceeded`: killed, its layer removed with it.
 * Its restartPolicy then decides, as for a failed liveness probe, whether it starts again (on a fresh
 * layer). Why measuring rather than a project quota: see docs/ARCHITECTURE.md ("Disk").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const EPHEMERAL_STORAGE_EXCEEDED = 'EphemeralStorageExceeded';

export interface MeasuredContainer {
  /** The replica's key ("namespace/name"). */
  key: string;
  /** The container's writable layer. */
  upperDir: string;
  limitBytes: number;
}

export interface EphemeralStorageOptions {
  containers: () => Iterable<MeasuredContainer>;
  /** A container went over its limit: its replica's key, for the reconciler to act on. */
  onExceeded: (key: string) => void;
  log: (line: string) => void;
  intervalMs: number;
  measure?: (dir: string) => number;
}

export class EphemeralStorageGuard {
  /** Keys over their limit, with the message of the eviction. */
  private readonly exceeded = new Map<string, string>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: EphemeralStorageOptions) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Why the replica's container must go, while it is over its limit. */
  verdict(key: string): string | undefined {
    return this.exceeded.get(key);
  }

  check(): void {
    const measure = this.options.measure ?? diskUsage;
    const seen = new Set<string>();
    for (const container of this.options.containers()) {
      seen.add(container.key);
      let used: number;
      try {
        used = measure(container.upperDir);
      } catch {
        continue; // the container went meanwhile
      }
      if (used <= container.limitBytes) {
        this.exceeded.delete(container.key);
        continue;
      }
      if (this.exceeded.has(container.key)) continue;
      const message = `writable layer uses ${used} bytes, over its ephemeral-storage limit of ${container.limitBytes}`;
      this.exceeded.set(container.key, message);
      this.options.log(`${container.key}: ${EPHEMERAL_STORAGE_EXCEEDED}: ${message}: evicting the container`);
      this.options.onExceeded(container.key);
    }
    for (const key of this.exceeded.keys()) if (!seen.has(key)) this.exceeded.delete(key);
  }
}

/** Bytes a directory tree takes on disk (allocated blocks, each inode once, symlinks not followed). */
export function diskUsage(dir: string): number {
  const inodes = new Set<number>();
  let bytes = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(current, { withFileTypes: true });
    } catch {
      continue; // removed meanwhile
    }
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(full);
      } catch {
        continue;
      }
      if (!inodes.has(stat.ino)) {
        inodes.add(stat.ino);
        bytes += stat.blocks * 512;
      }
      if (entry.isDirectory()) stack.push(full);
    }
  }
  return bytes;
}

/** The running containers whose template limits their writable layer. */
export function* limitedContainers(records: Iterable<{ key: string; exit?: unknown; container?: { upperDir?: string }; assignment?: { template: { limits: { ephemeralStorageBytes?: number } } } }>): Iterable<MeasuredContainer> {
  for (const record of records) {
    const limitBytes = record.assignment?.template.limits.ephemeralStorageBytes;
    if (limitBytes === undefined || !record.container?.upperDir || record.exit !== undefined) continue;
    yield { key: record.key, upperDir: record.container.upperDir, limitBytes };
  }
}

/** The reconciler's kill verdict for a replica over its limit (it takes the place of the probes' verdict). */
export function evictionVerdict(guard: EphemeralStorageGuard, record: { key: string }): { ready: false; kill: { kind: string; message: string } } | undefined {
  const message = guard.verdict(record.key);
  return message === undefined ? undefined : { ready: false, kill: { kind: EPHEMERAL_STORAGE_EXCEEDED, message: `${EPHEMERAL_STORAGE_EXCEEDED}: ${message}` } };
}
