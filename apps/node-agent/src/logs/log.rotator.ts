/**
 * Keeps every running container's log within its limits and remembers when its bytes were written.
 * Containers write their log files themselves (they outlive the agent), so the agent checks the
 * sizes every half second and rotates a file past its maximum (log.files.ts): the disk a container's
 * log takes is at most maxFiles × maxSize plus what it writes in one check interval. kubelet's
 * container log manager works the same way, every 10 s.
 *
 * The files carry no timestamps (the container writes raw output), so each check also marks how far
 * each file had grown by then: `--since` starts at the last mark before the time asked for (up to
 * one interval early). Marks live in memory: after an agent restart, `--since` only knows the
 * marks made since (older output is all before the first one).
 *
 * Which files to look at comes from one inotify watch on the log directory (fs.watch): a check
 * stats only the files written since the last one, so an idle node's cost follows what its
 * containers write, not how many there are (1,000 stats every half second were part of a
 * 1,000-replica node's CPU at rest). A full pass stands in for events the kernel dropped (its queue
 * overflows under a storm of writes) and for a directory that cannot be watched. It comes every
 * FULL_PASS_MS at first; each pass that finds no file grown without the watch saying so doubles the
 * period, up to MAX_FULL_PASS_MS, and one that finds such a file brings it back: on a node whose
 * watch misses nothing the backstop's stat of every file (1,000 every 10 s, a tenth of an idle
 * 1,000-replica agent's JavaScript in a CPU profile) comes six times less often.
 */
import * as fs from 'node:fs';
import { LogFiles, LogInstance } from './log.files';

export const LOG_CHECK_INTERVAL_MS = 500;
/** Every file is looked at this often whatever the watch said (kubelet's period for all of them)... */
const FULL_PASS_MS = 10_000;
/** ...and, while full passes find nothing the watch missed, at least this often. */
const MAX_FULL_PASS_MS = 60_000;
/** Marks kept per container; past it every other one goes (coarser, never wrong). */
const MAX_MARKS = 2048;

/** By `at`, generation `generation` of the container's log had `size` bytes (and every older one was complete). */
interface Mark {
  at: number;
  generation: number;
  size: number;
}

interface Marks {
  /** The generation of the file the container writes now; each rotation adds one. */
  generation: number;
  marks: Mark[];
}

/** Where to start reading a container's files (as `LogFiles.existing` lists them, oldest first). */
export interface LogPosition {
  file: number;
  offset: number;
}

export class LogRotator {
  private readonly current = new Map<string, Marks>();
  private readonly previous = new Map<string, Marks>();
  private timer?: NodeJS.Timeout;
  private watcher?: fs.FSWatcher;
  /** Containers whose log was written since the last check (by the directory's watch). */
  private readonly written = new Set<string>();
  private lastFullPass = 0;
  private fullPassMs = FULL_PASS_MS;

  constructor(
    readonly files: LogFiles,
    /** The ids of the containers running now. */
    private readonly running: () => Iterable<string>,
    private readonly log: (line: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  start(intervalMs = LOG_CHECK_INTERVAL_MS): void {
    this.watchDirectory();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** One pass: marks every file that grew, rotates the ones past their maximum; the next pass comes sooner if the watch missed a file. */
  check(): void {
    let missed = false;
    for (const id of this.running()) {
      if (this.checkSafely(id) && !this.written.has(id)) missed = true;
    }
    this.written.clear();
    this.lastFullPass = this.now();
    this.fullPassMs = missed ? FULL_PASS_MS : Math.min(MAX_FULL_PASS_MS, 2 * this.fullPassMs);
  }

  /** The period of full passes now (FULL_PASS_MS to MAX_FULL_PASS_MS). */
  get fullPassPeriodMs(): number {
    return this.fullPassMs;
  }

  /** The timer: the files written since the last tick, or all of them when the watch cannot say. */
  private tick(): void {
    if (!this.watcher || this.now() - this.lastFullPass >= this.fullPassMs) return this.check();
    if (this.written.size === 0) return;
    const running = new Set(this.running());
    for (const id of this.written) if (running.has(id)) this.checkSafely(id);
    this.written.clear();
  }

  private watchDirectory(): void {
    try {
      fs.mkdirSync(this.files.dir, { recursive: true, mode: 0o700 });
      this.watcher = fs.watch(this.files.dir, { persistent: false }, (_event, name) => {
        // `<id>.log` is what a container writes; rotated and previous files are the agent's own.
        if (typeof name === 'string' && name.endsWith('.log') && !name.endsWith('.previous.log')) this.written.add(name.slice(0, -'.log'.length));
      });
      this.watcher.on('error', (error) => {
        this.log(`cannot watch the log directory (${error.message}): every log is checked every time`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.log(`cannot watch the log directory (${(error as Error).message}): every log is checked every time`);
    }
  }

  /** Whether the file grew since its last check. */
  private checkSafely(id: string): boolean {
    try {
      return this.checkOne(id);
    } catch (error) {
      this.log(`log of ${id}: ${(error as Error).message}`);
      return false;
    }
  }

  /** A new container of the replica starts: the files and marks of the one before become the previous instance's. */
  retire(id: string): void {
    this.files.retire(id);
    const marks = this.current.get(id);
    if (marks) this.previous.set(id, marks);
    else this.previous.delete(id);
    this.current.delete(id);
  }

  forget(id: string): void {
    this.files.removeAll(id);
    this.current.delete(id);
    this.previous.delete(id);
  }

  /** The first byte written at or after `sinceMs` (up to one check interval earlier), in `LogFiles.existing` terms. */
  since(id: string, instance: LogInstance, sinceMs: number): LogPosition {
    const files = this.files.existing(id, instance);
    const state = (instance === 'current' ? this.current : this.previous).get(id);
    const mark = state?.marks.filter((m) => m.at <= sinceMs).at(-1);
    if (!state || !mark) return { file: 0, offset: 0 };
    const rotations = state.generation - mark.generation;
    const base = this.files.path(id, instance);
    const index = files.indexOf(rotations === 0 ? base : `${base}.${rotations}`);
    return index < 0 ? { file: 0, offset: 0 } : { file: index, offset: mark.size };
  }

  /** Marks the file's size if it grew (then true) and rotates it past its maximum. */
  private checkOne(id: string): boolean {
    const file = this.files.path(id);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return false; // not written yet
    }
    let state = this.current.get(id);
    if (!state) this.current.set(id, (state = { generation: 0, marks: [] }));
    const last = state.marks.at(-1);
    const grew = !last || last.generation !== state.generation || last.size !== size;
    if (grew) state.marks.push({ at: this.now(), generation: state.generation, size });
    if (state.marks.length > MAX_MARKS) state.marks = state.marks.filter((_, i) => i % 2 === 1);
    if (size <= this.files.limits.maxSizeBytes) return grew;
    const dropped = this.files.rotate(id);
    state.generation++;
    const kept = state.generation - (this.files.limits.maxFiles - 1);
    state.marks = state.marks
      .filter((m) => m.generation >= kept)
      .map((m) => (m.generation === state!.generation - 1 ? { ...m, size: Math.max(0, m.size - dropped) } : m));
    return true;
  }
}
