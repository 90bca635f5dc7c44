/**
 * Drives one start worker (start.worker.ts): the worker unshares the namespaces and spawns the init;
 * here we let the caller put the pid in its cgroup and record it, say "go", and learn whether the
 * user's command was exec'd. The worker then stays until the container exits, to report its status.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { linuxSys } from '@tide/syscall';
import { CONTAINER_NAMESPACES, InitConfig, StartWorkerData } from '../init/init.config';
import { RuntimeError } from '../runtime.types';
import { ProcessHandle } from './process';

const INIT_SCRIPT = path.join(__dirname, '../init/container-init.js');
const START_WORKER = path.join(__dirname, 'start.worker.js');

export interface RawExit {
  code: number | null;
  signal: string | null;
}

export interface Launch {
  /** Resolves once the user's command has been exec'd; rejects with a RuntimeError otherwise. */
  started: Promise<ProcessHandle>;
  /** Resolves when the init or the user's command has exited, also after a failed start. */
  exited: Promise<RawExit>;
}

type WorkerMessage =
  | { type: 'spawned'; pid: number; pidfd?: number }
  | { type: 'started' }
  | { type: 'failed'; message: string }
  | { type: 'exit'; code: number | null; signal: string | null };

/**
 * Starts the init in `namespaces` (namespacesFor(spec.network)). `onSpawned` runs between spawn and
 * "go", while the init waits with its root ready: the place to join the cgroup, so that nothing of the
 * user's runs outside its limits, and to wire a bridge container's network namespace.
 */
export function launchInit(
  config: InitConfig, logPath: string, onSpawned: (process: ProcessHandle) => Promise<void>, namespaces = CONTAINER_NAMESPACES,
): Launch {
  fs.mkdirSync(path.dirname(logPath), { recursive: true });
  // A file, not a pipe: the container keeps writing its log while no agent is running.
  const logFd = fs.openSync(logPath, 'a');
  const data: StartWorkerData = { initScript: INIT_SCRIPT, initConfig: JSON.stringify(config), logFd, namespaces };
  const worker = new Worker(START_WORKER, { workerData: data });
  let handle: ProcessHandle | undefined;
  let settleStart!: { resolve: (h: ProcessHandle) => void; reject: (e: Error) => void };
  const started = new Promise<ProcessHandle>((resolve, reject) => (settleStart = { resolve, reject }));
  let resolveExit!: (exit: RawExit) => void;
  const exited = new Promise<RawExit>((resolve) => (resolveExit = resolve));

  let pendingSpawn: Promise<void> = Promise.resolve();
  let settled = false;
  let logOpen = true;
  const closeLog = () => {
    // Once only: a second close could hit an unrelated fd that has reused the number.
    if (logOpen) fs.closeSync(logFd);
    logOpen = false;
  };
  let failed = false;
  const fail = (message: string) => {
    if (settled) return;
    settled = failed = true;
    handle?.signal('SIGKILL'); // the init may be waiting for "go": it must not run on
    if (!handle) void worker.terminate(); // nothing was spawned: no exit will come to end the worker
    settleStart.reject(new RuntimeError('StartFailed', message.trim()));
  };
  worker.on('error', (error) => fail(error.message));
  // The worker ends after reporting the exit, or on its own when it failed before spawning.
  worker.on('exit', () => {
    closeLog();
    if (failed) handle?.close(); // after a successful start the runtime owns the pidfd
    fail('the start worker ended before the container started');
    void pendingSpawn.then(() => resolveExit({ code: null, signal: null }));
  });
  worker.on('message', (message: WorkerMessage) => {
    if (message.type === 'spawned') {
      closeLog();
      handle = ProcessHandle.ofChild(linuxSys(), message.pid, message.pidfd);
      pendingSpawn = onSpawned(handle).then(() => worker.postMessage({ type: 'go' }), (error: Error) => fail(error.message));
    } else if (message.type === 'started') {
      if (!settled) settleStart.resolve(handle!);
      settled = true;
    } else if (message.type === 'failed') {
      fail(message.message);
    } else {
      // After onSpawned has settled, so that a caller cleaning up after the exit races nothing.
      void pendingSpawn.then(() => resolveExit({ code: message.code, signal: message.signal }));
      void worker.terminate();
    }
  });
  return { started, exited };
}
