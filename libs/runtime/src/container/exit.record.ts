/**
 * Exit records: how a container's process ended, written by whoever reaped it when that was not the
 * agent. While the agent runs, its containers are its children and it reaps them itself (the exit
 * goes into state.json). When the agent is gone, its containers pass to the node's reaper (the
 * process `node-agent` was started as, a child subreaper: apps/node-agent/src/reaper), which reaps
 * them and writes `exit.json` next to their state.json; the agent that adopts them reads it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic.write';
import { ContainerStateFiles } from './container.state';
import { sleep } from './process';

export const EXIT_RECORD = 'exit.json';

export interface ExitRecord {
  /** The host pid that exited: a record is only believed for the process it names. */
  pid: number;
  code: number | null;
  /** Signal name ("SIGKILL") when killed by a signal. */
  signal: string | null;
  finishedAt: string;
}

/** How long an adopted container's record is waited for while its process is a zombie not yet reaped. */
const RECORD_WAIT_MS = 5_000;
/** After the pid is gone: the reaper writes the record just after reaping. */
const AFTER_REAP_GRACE_MS = 100;

export function readExitRecord(containerDir: string, pid: number): ExitRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(containerDir, EXIT_RECORD), 'utf8')) as ExitRecord;
    return record.pid === pid ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The record of an adopted container whose process has ended: waits while the process is still a
 * zombie, for the reaper to reap it, and a moment after a reap that was just seen (`justExited`).
 * Undefined when nobody wrote one (no reaper: the exit code went to the host's init).
 */
export async function awaitExitRecord(containerDir: string, pid: number, justExited: boolean): Promise<ExitRecord | undefined> {
  const deadline = Date.now() + RECORD_WAIT_MS;
  for (let waited = false; ; waited = true) {
    const record = readExitRecord(containerDir, pid);
    if (record) return record;
    if (!fs.existsSync(`/proc/${pid}`)) {
      if (!justExited && !waited) return undefined; // ended long ago, nobody recorded it
      break;
    }
    if (Date.now() > deadline) return undefined;
    await sleep(20);
  }
  await sleep(AFTER_REAP_GRACE_MS);
  return readExitRecord(containerDir, pid);
}

/**
 * For the node's reaper, which has just reaped `pid`: writes the record into the directory of the
 * container whose process that was. False when the pid was no container's (another orphan).
 */
export function recordOrphanExit(containersDir: string, record: ExitRecord): boolean {
  const states = new ContainerStateFiles(containersDir);
  const id = states.ids().find((candidate) => states.read(candidate)?.pid === record.pid);
  if (id === undefined) return false;
  const file = path.join(states.dir(id), EXIT_RECORD);
  try {
    writeFileAtomic(file, JSON.stringify(record));
    return true;
  } catch {
    return false; // the container was being removed meanwhile
  }
}
