/**
 * Runs in a fresh worker thread, one per container init. Namespaces belong to threads, so unsharing
 * here leaves the agent's own namespaces alone; the child spawned from this thread is born in the new
 * PID namespace as its PID 1. The init boots and waits for its config, so this thread may be a member
 * of the warm pool long before a container claims it. The thread then stays to receive the child's
 * exit status (and, being the init's parent thread, kills it through PR_SET_PDEATHSIG by exiting
 * while it is still unclaimed).
 *
 * Messages: ← {type:'claim', config} | {type:'go'} ;
 * → {type:'spawned', pid, pidfd} | {type:'ready'} | {type:'started'} | {type:'failed', message, lost?} |
 * {type:'exit', code, signal}
 */
import { spawn } from 'node:child_process';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { linuxSys } from '@tide/syscall';
import { CONFIG_FD, GO_FD, STATUS_FD, StartWorkerData } from '../init/init.config';
import { StartMark, StartTrace } from './start.trace';

type Command = { type: 'claim'; config: string; trace?: boolean } | { type: 'go' };

function run(data: StartWorkerData): void {
  const port = parentPort!;
  // Kept for a traced start (the benchmark's breakdown); a warm init's boot marks predate its start.
  const trace = new StartTrace();
  let traced = false;
  trace.mark('worker: booted, modules loaded');
  linuxSys().unshare(data.namespaces);
  trace.mark('worker: namespaces unshared');
  // No stdio yet: the init opens the container's log itself once it knows which container it is.
  const child = spawn(process.execPath, [data.initScript], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: {},
  });
  const go = child.stdio[GO_FD] as NodeJS.WritableStream;
  const status = child.stdio[STATUS_FD] as NodeJS.ReadableStream;
  // A socket pair, readable and writable both ways (Node's typings stop at fd 4).
  const control = (child.stdio as unknown as NodeJS.ReadWriteStream[])[CONFIG_FD];
  let goSent = false;
  let failure = '';
  control.once('data', () => {
    trace.mark('worker: init ready');
    port.postMessage({ type: 'ready' });
    // A traced init sends its own marks over the same socket before it execs (container-init.ts).
    let initMarks = '';
    control.on('data', (chunk: Buffer) => (initMarks += chunk.toString()));
    control.on('end', () => trace.add(parseMarks(initMarks)));
  });
  control.on('error', () => undefined); // EPIPE when the init died: its exit tells the runtime
  const initMarksRead = new Promise<void>((resolve) => control.on('close', () => resolve()));
  status.on('data', (chunk: Buffer) => (failure += chunk.toString()));
  // EOF on the status pipe comes before the exit is reported, so the runtime always learns first
  // whether the exec happened (a command may exit before its EOF has been read). Before "go", EOF
  // without a message means the init died (while pooled, or killed during its start).
  const statusDone = new Promise<void>((resolve) => {
    status.on('end', () => {
      trace.mark('worker: status EOF (execve done)');
      const verdict: object = !failure && !goSent
        ? { type: 'failed', message: 'the container init exited before it was started', lost: true }
        : failure ? { type: 'failed', message: failure } : { type: 'started', ...(traced ? { marks: trace.marks } : {}) };
      // A traced init's marks come over the config socket, closed at the latest by its execve.
      void (traced && !failure ? initMarksRead : Promise.resolve()).then(() => {
        port.postMessage(verdict);
        resolve();
      });
    });
  });
  child.on('error', (error) => {
    port.postMessage({ type: 'failed', message: error.message });
    if (child.pid === undefined) port.close(); // nothing was spawned: no exit will come to end this thread
  });
  child.on('exit', (code, signal) => {
    void statusDone.then(() => {
      port.postMessage({ type: 'exit', code, signal });
      port.close();
    });
  });
  port.on('message', (message: Command) => {
    if (message.type === 'claim') {
      trace.mark('worker: claim received');
      traced = message.trace === true;
      control.end(message.config);
    }
    if (message.type === 'go') {
      trace.mark('worker: go received');
      goSent = true;
      go.end('g');
    }
  });
  trace.mark('worker: init spawned');
  if (child.pid !== undefined) port.postMessage({ type: 'spawned', pid: child.pid, pidfd: openPidfd(child.pid) });
}

function parseMarks(text: string): StartMark[] {
  try {
    return text ? (JSON.parse(text) as StartMark[]) : [];
  } catch {
    return []; // a trace cut short (the init failed while writing it): the start's verdict still counts
  }
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
