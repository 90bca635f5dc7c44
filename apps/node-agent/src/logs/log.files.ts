/**
 * A replica's log files in `STATE/logs/`: its current container writes `ID.log` (the container's
 * stdout and stderr, opened O_APPEND by its init), rotated copies are `ID.log.1` (newest) to
 * `ID.log.N-1`, and the container before it (a restart) left `ID.previous.log` and its own rotated
 * copies. N, the files kept per container, counts the current one (as Docker's max-file and
 * kubelet's containerLogMaxFiles do).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isNoSpace } from '@tide/runtime';

export interface LogLimits {
  /** Bytes a log file may reach before it is rotated. */
  maxSizeBytes: number;
  /** Files kept per container, the current one included (at least 1: then rotation only truncates). */
  maxFiles: number;
}

/** kubelet's containerLogMaxSize and containerLogMaxFiles. */
export const DEFAULT_LOG_LIMITS: LogLimits = { maxSizeBytes: 10 * 2 ** 20, maxFiles: 5 };

export type LogInstance = 'current' | 'previous';

export class LogFiles {
  constructor(readonly dir: string, readonly limits: LogLimits = DEFAULT_LOG_LIMITS) {}

  /** The file the container writes (`previous`: the one its predecessor wrote). */
  path(id: string, instance: LogInstance = 'current'): string {
    return path.join(this.dir, instance === 'current' ? `${id}.log` : `${id}.previous.log`);
  }

  /** The files of one container that exist, oldest first: its rotated copies, then the file it writes. */
  existing(id: string, instance: LogInstance = 'current'): string[] {
    const base = this.path(id, instance);
    const files: string[] = [];
    for (let k = this.limits.maxFiles - 1; k >= 1; k--) if (fs.existsSync(`${base}.${k}`)) files.push(`${base}.${k}`);
    if (fs.existsSync(base)) files.push(base);
    return files;
  }

  /**
   * A new container of the replica is about to start: the files of the one before become the
   * previous instance's (replacing the older one's), and the new one starts with an empty log.
   */
  retire(id: string): void {
    if (this.existing(id).length === 0) return;
    this.remove(id, 'previous');
    const from = this.path(id);
    const to = this.path(id, 'previous');
    for (let k = this.limits.maxFiles - 1; k >= 1; k--) renameIfThere(`${from}.${k}`, `${to}.${k}`);
    renameIfThere(from, to);
  }

  /**
   * Rotates the current file by copy and truncate (logrotate's copytruncate): the container keeps
   * its descriptor, and O_APPEND makes its next write land at the start of the emptied file. A file
   * up to twice the maximum is copied whole; a larger one (a flood between two checks) keeps only its
   * last maxSize bytes, so a rotated file never exceeds 2 × maxSize. What is written between the copy
   * and the truncation is lost (microseconds). Returns the bytes dropped from the copy's head.
   */
  rotate(id: string): number {
    const base = this.path(id);
    const { maxFiles, maxSizeBytes } = this.limits;
    let dropped = 0;
    if (maxFiles > 1) {
      fs.rmSync(`${base}.${maxFiles - 1}`, { force: true });
      for (let k = maxFiles - 2; k >= 1; k--) renameIfThere(`${base}.${k}`, `${base}.${k + 1}`);
      try {
        dropped = copyTail(base, `${base}.1`, maxSizeBytes);
      } catch (error) {
        if (!isNoSpace(error)) throw error;
        // A full disk: the partial copy goes and the file is emptied all the same (its lines are
        // lost), rather than the log growing into the space the node's state files need.
        fs.rmSync(`${base}.1`, { force: true });
        dropped = fs.statSync(base).size;
      }
    }
    fs.truncateSync(base, 0);
    return dropped;
  }

  /** Every file of the replica: both instances, rotated copies included (also beyond today's maxFiles). */
  removeAll(id: string): void {
    this.remove(id, 'current');
    this.remove(id, 'previous');
  }

  /**
   * Under disk pressure: every rotated copy and every previous instance's file goes (what `tsctl logs`
   * shows of a running container, its current file, stays). Answers the bytes freed.
   */
  dropRotated(): number {
    let freed = 0;
    for (const file of fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : []) {
      if (!/\.log\.\d+$/.test(file) && !/\.previous\.log$/.test(file)) continue;
      const full = path.join(this.dir, file);
      try {
        freed += fs.statSync(full).size;
        fs.rmSync(full, { force: true });
      } catch {
        /* gone meanwhile */
      }
    }
    return freed;
  }

  private remove(id: string, instance: LogInstance): void {
    const name = path.basename(this.path(id, instance));
    const names = fs.existsSync(this.dir) ? fs.readdirSync(this.dir) : [];
    for (const file of names) if (file === name || (file.startsWith(`${name}.`) && /^\d+$/.test(file.slice(name.length + 1)))) fs.rmSync(path.join(this.dir, file), { force: true });
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Copies the last `maxBytes` of `from` into a new `to` (0600); answers how many bytes of its head were
 * left out. A read loop that stops at a read of 0 bytes, not fs.copyFile: libuv's copy spins forever on
 * a file that shrinks under it (e2e/README.md, "logs are copied with copyAsFarAsItGoes").
 */
function copyTail(from: string, to: string, maxBytes: number): number {
  const source = fs.openSync(from, 'r');
  const target = fs.openSync(to, 'w', 0o600);
  try {
    const size = fs.fstatSync(source).size;
    const start = size <= 2 * maxBytes ? 0 : size - maxBytes;
    const buffer = Buffer.alloc(Math.min(1 << 20, Math.max(1, size - start)));
    for (let position = start; position < size;) {
      const read = fs.readSync(source, buffer, 0, Math.min(buffer.length, size - position), position);
      if (read === 0) break;
      fs.writeSync(target, buffer, 0, read);
      position += read;
    }
    return start;
  } finally {
    fs.closeSync(source);
    fs.closeSync(target);
  }
}
