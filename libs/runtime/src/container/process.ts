/** Small helpers about host processes: liveness guarded against pid reuse, signals, waiting. */
import * as fs from 'node:fs';

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

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* already gone */
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the process is gone (used for containers adopted from a previous agent, which are not our children). */
export async function waitUntilGone(pid: number, startTime: number, intervalMs = 200): Promise<void> {
  while (isSameProcess(pid, startTime)) await sleep(intervalMs);
}
