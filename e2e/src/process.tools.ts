/**
 * Processes of a test cluster found by their command line, for tests and benchmarks that stop one,
 * restart it, or start it again with other flags (fencing.e2e.ts, the chaos bench).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { REPO, cmdlineOf, isAlive, pidsMentioning, signalIfAlive, waitFor } from './harness';

/** The argv of the one control plane process whose command line mentions `text`. */
export function controlPlaneCommandLine(text: string): { pid: number; argv: string[] } {
  const [pid] = pidsMentioning(text).filter((p) => cmdlineOf(p).includes('control-plane/dist/main.js'));
  assert.ok(pid, `a control plane process mentioning ${text}`);
  return { pid, argv: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) };
}

/** `argv` with the values of these flags replaced (each flag must be there). */
export function replaceFlags(argv: string[], values: Record<string, string>): string[] {
  const out = [...argv];
  for (const [flag, value] of Object.entries(values)) {
    const at = out.indexOf(flag);
    assert.ok(at >= 0, `the process was started with ${flag}`);
    out[at + 1] = value;
  }
  return out;
}

/** `argv` without these flags and their values. */
export function removeFlags(argv: string[], flags: string[]): string[] {
  return argv.filter((_, i) => !flags.includes(argv[i]) && !flags.includes(argv[i - 1]));
}

export function startDetached(argv: string[], logFile: string): void {
  const log = fs.openSync(logFile, 'a');
  spawn(argv[0], argv.slice(1), { cwd: REPO, detached: true, stdio: ['ignore', log, log] }).unref();
  fs.closeSync(log);
}

/** SIGTERM (a control plane stops the etcd it supervises), then SIGKILL what is left after 30 s. */
export async function stopProcessesMentioning(text: string): Promise<void> {
  for (const pid of pidsMentioning(text)) signalIfAlive(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (pidsMentioning(text).some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  for (const pid of pidsMentioning(text)) signalIfAlive(pid, 'SIGKILL');
  await waitFor(`no process mentioning ${text}`, async () => !pidsMentioning(text).some(isAlive), 30_000);
}
