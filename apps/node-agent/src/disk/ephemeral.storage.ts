/**
 * Bounds each container's writable layer (its overlay upperdir) by the template's
 * `resources.limits.ephemeral-storage`, as kubelet's eviction manager does: it measures the layer
 * every interval (the bytes its files take on disk, each inode once, as `du`) and a container over its
 * limit is evicted with the reason `EphemeralStorageExceeded`: killed, its layer removed with it.
 * Its restartPolicy then decides, as for a failed liveness probe, whether it starts again (on a fresh
 * layer). Why measuring rather than a project quota: see docs/ARCHITECTURE.md ("Disk").
 * The same guard measures emptyDir volumes against their sizeLimit (volumes/node.volumes.ts): those
 * come with their own reason (`Evicted`) and message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const EPHEMERAL_STORAGE_EXCEEDED = 'EphemeralStorageExceeded';
/**
 * An emptyDir over its sizeLimit: unlike the writable layer's eviction, it ends the replica on this
 * node (Failed whatever its restartPolicy, as kubelet's evictions do) and the control plane replaces it.
 */
export const EVICTED = 'Evicted';

export interface MeasuredContainer {
  /** The replica's key ("namespace/name"). */
  key: string;
  /** What is measured: the container's writable layer, or one of its volumes. */
  dir: string;
  limitBytes: number;
  /** The reason the eviction is recorded with; default EphemeralStorageExceeded. */
  reason?: string;
  /** The eviction's message for the bytes used; default: the writable layer's. */
  describe?: (usedBytes: number) => string;
}

/** Why a replica must go: the reason its exit is recorded with, and what it says. */
export interface EvictionCause {
  reason: string;
  message: string;
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
  /** Keys over their limit, with the cause of the eviction. */
  private readonly exceeded = new Map<string, EvictionCause>();
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
  verdict(key: string): EvictionCause | undefined {
    return this.exceeded.get(key);
  }

  check(): void {
    const measure = this.options.measure ?? diskUsage;
    // A replica may be measured several times (its layer, each emptyDir): over in one is enough.
    const over = new Map<string, EvictionCause>();
    const seen = new Set<string>();
    for (const container of this.options.containers()) {
      seen.add(container.key);
      if (over.has(container.key)) continue;
      let used: number;
      try {
        used = measure(container.dir);
      } catch {
        continue; // the container went meanwhile
      }
      if (used <= container.limitBytes) continue;
      const message = container.describe?.(used) ?? `writable layer uses ${used} bytes, over its ephemeral-storage limit of ${container.limitBytes}`;
      over.set(container.key, { reason: container.reason ?? EPHEMERAL_STORAGE_EXCEEDED, message });
    }
    for (const key of this.exceeded.keys()) if (!seen.has(key) || !over.has(key)) this.exceeded.delete(key);
    for (const [key, cause] of over) {
      if (this.exceeded.has(key)) continue;
      this.exceeded.set(key, cause);
      this.options.log(`${key}: ${cause.reason}: ${cause.message}: evicting the container`);
      this.options.onExceeded(key);
    }
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
    yield { key: record.key, dir: record.container.upperDir, limitBytes };
  }
}

/** The reconciler's kill verdict for a replica over its limit (it takes the place of the probes' verdict). */
export function evictionVerdict(guard: EphemeralStorageGuard, record: { key: string }): { ready: false; kill: { kind: string; message: string } } | undefined {
  const cause = guard.verdict(record.key);
  return cause === undefined ? undefined : { ready: false, kill: { kind: cause.reason, message: `${cause.reason}: ${cause.message}` } };
}
