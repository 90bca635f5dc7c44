/** Finding, starting and stopping the processes of a local cluster. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

/**
 * Live processes running `script` with `stateDir` (or a path under it) among their arguments: found
 * by command line, so processes started by an earlier tsctl, or restarted by hand, are found too.
 */
export function findProcesses(script: string, stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const args = commandLine(Number(entry));
    if (!args || !args.some((a) => a === script || a.endsWith(`/${script}`))) continue;
    if (args.some((a) => a === stateDir || a.startsWith(`${stateDir}/`))) pids.push(Number(entry));
  }
  return pids.filter(isAlive);
}

function commandLine(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined; // exited meanwhile
  }
}

/** A zombie (exited, not reaped yet) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Starts `argv` in its own session, stdout and stderr appended to logFile; returns its pid. `env`:
 * variables added to this process's environment for the child (a secret that must not be in its command line).
 */
export function startDetached(argv: string[], logFile: string, env: Record<string, string> = {}): number {
  const log = fs.openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...env } });
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${argv.join(' ')}: see ${logFile}`);
    return child.pid;
  } finally {
    fs.closeSync(log);
  }
}

/** How long a process killed with SIGKILL may take to be gone before it is reported instead of awaited. */
const KILLED_WAIT_MS = 10_000;

/**
 * SIGTERM, then SIGKILL for whatever is still alive after graceMs. Resolves when all are gone, or
 * with those that outlived SIGKILL by KILLED_WAIT_MS (a process in uninterruptible sleep, waiting on
 * a slow disk, ends only when the kernel lets it), described for a warning: a stop never hangs on them.
 */
export async function terminate(pids: number[], graceMs: number): Promise<string[]> {
  for (const pid of pids) sendSignal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  const stubborn = pids.filter(isAlive);
  for (const pid of stubborn) sendSignal(pid, 'SIGKILL');
  const killedBy = Date.now() + KILLED_WAIT_MS;
  while (stubborn.some(isAlive) && Date.now() < killedBy) await sleep(50);
  return stubborn.filter(isAlive).map(describeProcess);
}

/** `PID (NAME, state S)` from /proc, for a warning about a process that would not end. */
function describeProcess(pid: number): string {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return `${pid} (${/^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?'}, state ${/^State:\s+(.*)$/m.exec(status)?.[1] ?? '?'})`;
  } catch {
    return `${pid}`;
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** Whether something accepts TCP connections on host:port. */
export function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 5): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
