/**
 * Runs in a fresh worker thread, one per container. Namespaces belong to threads, so unsharing here
 * leaves the agent's own namespaces alone; the child spawned from this thread is born in the new
 * PID namespace as its PID 1. The thread then stays to receive the child's exit status.
 *
 * Messages: ← {type:'go'} ; → {type:'spawned', pid, pidfd} | {type:'started'} | {type:'failed', message} |
 * {type:'exit', code, signal}
 */
import { spawn } from 'node:child_process';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { linuxSys } from '@tide/syscall';
import { GO_FD, STATUS_FD, StartWorkerData } from '../init/init.config';

function run(data: StartWorkerData): void {
  const port = parentPort!;
  linuxSys().unshare(data.namespaces);
  const child = spawn(process.execPath, [data.initScript], {
    detached: true,
    stdio: ['ignore', data.logFd, data.logFd, 'pipe', 'pipe'],
    env: { TIDE_INIT: data.initConfig },
  });
  const go = child.stdio[GO_FD] as NodeJS.WritableStream;
  const status = child.stdio[STATUS_FD] as NodeJS.ReadableStream;
  let failure = '';
  status.on('data', (chunk: Buffer) => (failure += chunk.toString()));
  // EOF on the status pipe comes before the exit is reported, so the runtime always learns first
  // whether the exec happened (a command may exit before its EOF has been read).
  const statusDone = new Promise<void>((resolve) => {
    status.on('end', () => {
      port.postMessage(failure ? { type: 'failed', message: failure } : { type: 'started' });
      resolve();
    });
  });
  child.on('error', (error) => port.postMessage({ type: 'failed', message: error.message }));
  child.on('exit', (code, signal) => {
    void statusDone.then(() => {
      port.postMessage({ type: 'exit', code, signal });
      port.close();
    });
  });
  port.on('message', (message: { type: string }) => {
    if (message.type === 'go') go.end('g');
  });
  if (child.pid !== undefined) port.postMessage({ type: 'spawned', pid: child.pid, pidfd: openPidfd(child.pid) });
}

/**
 * Opened here, synchronously after spawn: libuv reaps children only when this thread's event loop
 * runs again, so the pid cannot have been reused yet. File descriptors belong to the whole process:
 * the runtime on the main thread owns and closes this one.
 */
function openPidfd(pid: number): number | undefined {
  try {
    return linuxSys().pidfdOpen(pid);
  } catch {
    return undefined; // kernel without pidfds: the runtime falls back to pid + start time
  }
}

if (!isMainThread) run(workerData as StartWorkerData);
