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

/** Starts `argv` in its own session, stdout and stderr appended to logFile; returns its pid. */
export function startDetached(argv: string[], logFile: string): number {
  const log = fs.openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${argv.join(' ')}: see ${logFile}`);
    return child.pid;
  } finally {
    fs.closeSync(log);
  }
}

/** SIGTERM, then SIGKILL for whatever is still alive after graceMs. Resolves when all are gone. */
export async function terminate(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) sendSignal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  const stubborn = pids.filter(isAlive);
  for (const pid of stubborn) sendSignal(pid, 'SIGKILL');
  while (stubborn.some(isAlive)) await sleep(50);
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
