/**
 * Runs in a fresh worker thread, one per container. Namespaces belong to threads, so unsharing here
 * leaves the agent's own namespaces alone; the child spawned from this thread is born in the new
 * PID namespace as its PID 1. The thread then stays to receive the child's exit status.
 *
 * Messages: ← {type:'go'} ; → {type:'spawned', pid} | {type:'started'} | {type:'failed', message} |
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
  status.on('end', () => port.postMessage(failure ? { type: 'failed', message: failure } : { type: 'started' }));
  child.on('error', (error) => port.postMessage({ type: 'failed', message: error.message }));
  child.on('exit', (code, signal) => {
    port.postMessage({ type: 'exit', code, signal });
    port.close();
  });
  port.on('message', (message: { type: string }) => {
    if (message.type === 'go') go.end('g');
  });
  if (child.pid !== undefined) port.postMessage({ type: 'spawned', pid: child.pid });
}

if (!isMainThread) run(workerData as StartWorkerData);
