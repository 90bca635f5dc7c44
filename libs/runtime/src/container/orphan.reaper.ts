/**
 * The node's reaper, kernel side: a process marked child subreaper (prctl(2)) becomes the parent of
 * every descendant orphaned below it. `node-agent` runs as such a process above the agent itself
 * (apps/node-agent/src/reaper), so that containers whose agent died pass to it rather than to the
 * host's init, and their exit codes are not lost: it reaps them and writes their exit records.
 */
import * as fs from 'node:fs';
import { PR_SET_CHILD_SUBREAPER, Sys, SyscallError, linuxSys } from '@tide/syscall';
import { recordOrphanExit } from './exit.record';
import { signalName } from './exit.watcher';

export class OrphanReaper {
  constructor(
    private readonly containersDir: string,
    private readonly sys: Sys = linuxSys(),
  ) {}

  /** From now on, orphaned descendants of this process are its children. */
  becomeSubreaper(): void {
    this.sys.prctl(PR_SET_CHILD_SUBREAPER, 1);
  }

  /**
   * Reaps every child that has exited, except `keep` (children whose exit libuv handles, such as the
   * agent), writing the exit record of those that were containers. Answers how many other children
   * are still alive.
   */
  reap(keep: ReadonlySet<number>): number {
    let alive = 0;
    for (const pid of childrenOfThisProcess()) {
      if (keep.has(pid)) continue;
      if (!isZombie(pid)) {
        alive++;
        continue;
      }
      const exit = this.reapOne(pid);
      if (exit) recordOrphanExit(this.containersDir, { pid, ...exit, finishedAt: new Date().toISOString() });
    }
    return alive;
  }

  private reapOne(pid: number): { code: number | null; signal: string | null } | undefined {
    try {
      const exit = this.sys.reapChild(pid, 'pid');
      return exit && { code: exit.code, signal: exit.signal === null ? null : signalName(exit.signal) };
    } catch (error) {
      if (error instanceof SyscallError) return undefined; // reaped meanwhile by someone else
      throw error;
    }
  }
}

/** Children of every thread of this process: an orphan passes to one thread of its subreaper. */
function childrenOfThisProcess(): number[] {
  const pids: number[] = [];
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      const text = fs.readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return pids;
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
