/**
 * Learns when container processes exit, for every container of the node at once: no thread and no
 * timer per container (a start worker kept per container cost the agent ~7.6 MB and a thread each).
 *
 * A container's init is the agent's child from its spawn (init.launcher.ts), and so are the tools
 * the runtime runs without forking (direct.spawn.ts). An exit raises SIGCHLD in the agent: one
 * poll(2) over every watched pidfd finds which
 * processes ended, and waitid(2) on each reaps it and reads its code. Containers adopted from an
 * earlier agent are not our children (no SIGCHLD): their pidfds alone are polled on a timer (every
 * POLL_MS while any is watched), and their code comes from the exit record the node's reaper wrote
 * (exit.record.ts). With only children watched, nothing runs while nothing exits: the idle cost is
 * proportional to exits, not to containers (1,000 pidfds polled every 500 ms was part of a
 * 1,000-replica node's CPU at rest). A slow timer then only keeps the process alive while a
 * container runs, as a thread per container used to (a caller waiting for an exit is not left with
 * an empty event loop), and sweeps everything as a backstop. A pooled init's watch does not keep the
 * process alive until it is claimed (`keepAlive`).
 */
import * as os from 'node:os';
import { Sys, SyscallError } from '@tide/syscall';
import { ProcessHandle } from './process';

/** How often the pidfds of adopted containers are polled (our own children are seen at once by their SIGCHLD). */
const POLL_MS = 500;
/** With only children watched: the keep-alive timer's period, sweeping everything should a SIGCHLD be lost. */
const BACKSTOP_MS = 30_000;

interface Watch {
  handle: ProcessHandle;
  /** Whether this watch keeps the event loop alive (the timer is ref'd while any does). */
  keepsAlive: boolean;
  /** Our child: reaped here, with its exit code. Otherwise undefined is reported (not ours to reap). */
  child: boolean;
  resolve: (exit: RawExit | undefined) => void;
}

/** How a container's init ended: its exit code, or the signal that killed it. */
export interface RawExit {
  code: number | null;
  signal: string | null;
}

export class ExitWatcher {
  private readonly watches = new Set<Watch>();
  /** Watches of processes that are not our children (adopted): only they need polling. */
  private adopted = 0;
  /** Watches that keep the event loop alive. */
  private kept = 0;
  /** Runs while anything is watched: every POLL_MS over the adopted ones, else every BACKSTOP_MS. */
  private timer?: NodeJS.Timeout;
  private timerMs = 0;
  private listening = false;
  private readonly onSignal = () => this.sweepSafely();

  constructor(private readonly sys: Sys) {}

  /** Resolves once the process has exited: with its code and signal for a child, undefined otherwise.
   *  `keepsAlive` false: the process may end while this one is watched (a pooled init), until keepAlive(). */
  watch(handle: ProcessHandle, child: boolean, keepsAlive = true): Promise<RawExit | undefined> {
    return new Promise((resolve) => {
      this.watches.add({ handle, child, keepsAlive, resolve });
      if (!child) this.adopted++;
      if (keepsAlive) this.kept++;
      if (!this.listening) {
        this.listening = true;
        process.on('SIGCHLD', this.onSignal);
      }
      this.armTimer();
      // It may have exited before it was watched (its SIGCHLD came first): look once now.
      setImmediate(() => this.sweepSafely());
    });
  }

  /** The watch of `handle` keeps the event loop alive from now on (a pooled init was claimed). */
  keepAlive(handle: ProcessHandle): void {
    for (const watch of this.watches) {
      if (watch.handle !== handle || watch.keepsAlive) continue;
      watch.keepsAlive = true;
      this.kept++;
    }
    this.armTimer();
  }

  /** One poll(2) over the pidfds watched (`adoptedOnly`: those of processes that are not our
   *  children); then each process found gone is reaped (if ours) and reported. */
  sweep(adoptedOnly = false): void {
    if (this.watches.size === 0) return;
    const byFd = new Map<number, Watch>();
    const gone: Watch[] = [];
    for (const watch of this.watches) {
      if (adoptedOnly && watch.child) continue;
      const fd = watch.handle.fd;
      if (fd !== undefined) byFd.set(fd, watch);
      else if (!watch.handle.alive()) gone.push(watch); // no pidfds on this kernel: pid + start time
    }
    for (const fd of this.sys.readableFds([...byFd.keys()])) gone.push(byFd.get(fd)!);
    const unfinished = gone.filter((watch) => !this.finish(watch));
    // A pidfd may turn readable a moment before its child can be reaped; no other SIGCHLD will come.
    if (unfinished.length > 0) setTimeout(() => this.sweepSafely(), 10);
  }

  /** The timer's period follows what is watched: fast while adopted processes are, slow otherwise. */
  private armTimer(): void {
    const ms = this.watches.size === 0 ? 0 : this.adopted > 0 ? POLL_MS : BACKSTOP_MS;
    if (ms !== this.timerMs) {
      clearInterval(this.timer);
      this.timer = ms === 0 ? undefined : setInterval(() => this.sweepSafely(ms === POLL_MS), ms);
      this.timerMs = ms;
    }
    if (this.kept > 0) this.timer?.ref();
    else this.timer?.unref();
  }

  /** From a signal or a timer: a failing sweep must not take the agent down; the next one tries again. */
  private sweepSafely(adoptedOnly = false): void {
    try {
      this.sweep(adoptedOnly);
    } catch (error) {
      console.error(`exit watcher: ${(error as Error).message} (trying again at the next exit or in ${POLL_MS} ms)`);
    }
  }

  /** False when the process cannot be reaped yet. */
  private finish(watch: Watch): boolean {
    let exit: RawExit | undefined;
    if (watch.child) {
      const reaped = this.reap(watch.handle);
      if (reaped === 'running') return false;
      exit = reaped;
    }
    this.watches.delete(watch);
    if (!watch.child) this.adopted--;
    if (watch.keepsAlive) this.kept--;
    this.armTimer();
    watch.resolve(exit);
    return true;
  }

  /** waitid on the child; 'running' while it cannot be reaped yet. ECHILD (reaped by someone else,
   *  e.g. by a Node child_process of the same pid's handle) gives an unknown exit. */
  private reap(handle: ProcessHandle): RawExit | 'running' {
    try {
      const fd = handle.fd;
      const exit = fd !== undefined ? this.sys.reapChild(fd, 'pidfd') : this.sys.reapChild(handle.pid, 'pid');
      if (!exit) return 'running';
      return { code: exit.code, signal: exit.signal === null ? null : signalName(exit.signal) };
    } catch (error) {
      if (error instanceof SyscallError) return { code: null, signal: null };
      throw error;
    }
  }
}

export function signalName(signal: number): string {
  const entry = Object.entries(os.constants.signals).find(([, value]) => value === signal);
  return entry ? entry[0] : `signal ${signal}`;
}
