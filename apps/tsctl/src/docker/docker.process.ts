/**
 * `tsctl up --docker [--docker-tcp HOST:PORT]`: the Docker API server of a local cluster, `tsctl
 * docker-serve --socket STATE/docker.sock [--tcp HOST:PORT]` in the background (log STATE/docker-serve.log). It reads the credential file
 * tsctl up wrote ($TIDE_CONFIG), so that the admin token never appears on a command line; `tsctl
 * down` stops it with the rest (found by its command line, which names the state dir).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findProcesses, isAlive, sleep, startDetached, tail, terminate } from '../cluster/processes';

const TSCTL_SCRIPT = 'tsctl/dist/main.js';
const TSCTL_PATH = path.resolve(__dirname, '../main.js');
const START_TIMEOUT_MS = 30_000;

export function dockerSocketOf(stateDir: string): string {
  return path.join(stateDir, 'docker.sock');
}

/** Starts the server unless it runs; resolves once its socket is there. An error names its log. */
export async function ensureDockerServe(stateDir: string, configFile: string, tcp?: string): Promise<{ socket: string; started: boolean }> {
  const socket = dockerSocketOf(stateDir);
  if (dockerServes(stateDir).length > 0 && fs.existsSync(socket)) return { socket, started: false };
  const log = path.join(stateDir, 'docker-serve.log');
  const pid = startDetached([process.execPath, TSCTL_PATH, 'docker-serve', '--socket', socket, ...(tcp ? ['--tcp', tcp] : [])], log, { TIDE_CONFIG: configFile });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!fs.existsSync(socket)) {
    if (!isAlive(pid)) throw new Error(`tsctl docker-serve exited; see ${log}:\n${tail(log)}`);
    if (Date.now() > deadline) throw new Error(`tsctl docker-serve did not make ${socket} within ${START_TIMEOUT_MS / 1000} s; see ${log}`);
    await sleep(100);
  }
  return { socket, started: true };
}

/** The `tsctl docker-serve` processes of a state dir (not any other tsctl naming it, such as this one's `down`). */
function dockerServes(stateDir: string): number[] {
  return findProcesses(TSCTL_SCRIPT, stateDir).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('docker-serve');
    } catch {
      return false; // gone meanwhile
    }
  });
}

export async function stopDockerServe(stateDir: string, graceMs: number): Promise<number> {
  const pids = dockerServes(stateDir);
  await terminate(pids, graceMs);
  return pids.length;
}
