/** Host processes of containers: liveness and signals that cannot hit a reused pid. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Sys, SyscallError } from '@tide/syscall';

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie has exited already
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function isSameProcess(pid: number, startTime: number): boolean {
  return processStartTime(pid) === startTime;
}

/**
 * For a child just spawned: it cannot be reaped before its parent waits for it (libuv waits only
 * when the spawning thread's event loop runs again), so its pid still names it. Undefined on a
 * kernel without pidfds.
 */
export function openChildPidfd(sys: Sys, pid: number): number | undefined {
  try {
    return sys.pidfdOpen(pid);
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One container process, held by a pidfd when the kernel has them (5.3+): a pidfd keeps naming the
 * same process after it exits, so neither a signal nor a liveness check can reach a newcomer that
 * got its pid. Without pidfds it falls back to the pid plus its start time from /proc.
 */
export class ProcessHandle {
  private constructor(
    private readonly sys: Sys,
    readonly pid: number,
    private readonly startTime: number | undefined,
    private pidfd: number | undefined,
  ) {}

  /** For our own child: the pidfd was opened before the child could be reaped (openChildPidfd). */
  static ofChild(sys: Sys, pid: number, pidfd: number | undefined): ProcessHandle {
    return new ProcessHandle(sys, pid, processStartTime(pid), pidfd);
  }

  /** For a process found in a state file; undefined when it is gone or its pid now names another process. */
  static adopt(sys: Sys, pid: number, startTime: number): ProcessHandle | undefined {
    let pidfd: number | undefined;
    try {
      pidfd = sys.pidfdOpen(pid);
    } catch (error) {
      if (error instanceof SyscallError && error.code === 'ESRCH') return undefined;
      pidfd = undefined; // ENOSYS on an old kernel: pid + start time only
    }
    // Checked after pidfd_open: if the start time still matches, the pidfd holds the right process.
    if (!isSameProcess(pid, startTime)) {
      if (pidfd !== undefined) sys.close(pidfd);
      return undefined;
    }
    return new ProcessHandle(sys, pid, startTime, pidfd);
  }

  /** The pidfd, for a poll over many processes at once (exit.watcher.ts); undefined without pidfds. */
  get fd(): number | undefined {
    return this.pidfd;
  }

  alive(): boolean {
    if (this.pidfd !== undefined) return !this.sys.pollReadable(this.pidfd, 0);
    return this.startTime !== undefined && isSameProcess(this.pid, this.startTime);
  }

  signal(name: NodeJS.Signals): void {
    const number = os.constants.signals[name];
    try {
      if (this.pidfd !== undefined) this.sys.pidfdSendSignal(this.pidfd, number);
      else if (this.alive()) process.kill(this.pid, number);
    } catch {
      /* already gone */
    }
  }

  close(): void {
    if (this.pidfd === undefined) return;
    const fd = this.pidfd;
    this.pidfd = undefined;
    try {
      this.sys.close(fd);
    } catch {
      /* closed already */
    }
  }
}
