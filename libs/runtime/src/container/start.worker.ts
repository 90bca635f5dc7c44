/**
 * Runs in a fresh worker thread, one per container init. Namespaces belong to threads, so unsharing
 * here leaves the agent's own namespaces alone; the child spawned from this thread is born in the new
 * PID namespace as its PID 1. A spare thread (spare.worker.ts) boots without namespaces and waits
 * for a {type:'spawn', namespaces} before it does any of this. The init boots and waits for its config, so this thread may be a member
 * of the warm pool long before a container claims it (being the init's parent thread, it kills it
 * through PR_SET_PDEATHSIG by exiting while it is still unclaimed). Once the container runs the
 * runtime sends {type:'release'} and the thread ends: none is kept per container. Its child then
 * belongs to the agent's process (the kernel hands a dead thread's children to another thread of
 * its process), whose ExitWatcher reaps it (exit.watcher.ts). Before that, libuv here reaps a child
 * that dies and the thread reports its exit.
 *
 * Messages: → {type:'spawned', pid, pidfd} | {type:'ready'} | {type:'failed', message} |
 * {type:'trace', marks} | {type:'exit', code, signal}; ← {type:'release'}. Nothing comes back at a
 * claim: the config, "go" and the exec verdict go through the runtime's own pipes (init.pipes.ts).
 */
import { spawn } from 'node:child_process';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { linuxSys } from '@tide/syscall';
import { StartWorkerData, WORKER_FD } from '../init/init.config';
import { StartMark, StartTrace } from '../init/start.trace';
import { sealRuntimeBinary } from '../isolation/sealed.binary';

function run(data: Required<StartWorkerData>): void {
  const port = parentPort!;
  // Kept for a traced start (the benchmark's breakdown); a warm init's boot marks predate its start.
  const trace = new StartTrace();
  trace.mark('worker: booted, modules loaded');
  linuxSys().unshare(data.namespaces);
  trace.mark('worker: namespaces unshared');
  const executable = sealRuntimeBinary(linuxSys()); // the init runs a read-only bind of node (CVE-2019-5736)
  trace.mark('worker: node bound read-only');
  // No stdio yet: the init opens the container's log itself once it knows which container it is.
  // fds 3 and 4 are the runtime's pipes (config and "go", the exec verdict: init.pipes.ts); 5 is ours.
  const child = spawn(executable, [data.initScript, data.stageDir], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', data.goFd, data.statusFd, 'pipe'],
    env: {},
  });
  // A socket pair, readable and writable both ways (Node's typings stop at fd 4).
  const control = (child.stdio as unknown as NodeJS.ReadWriteStream[])[WORKER_FD];
  control.once('data', () => {
    trace.mark('worker: init ready');
    port.postMessage({ type: 'ready' });
    // A traced init sends its own marks over the same socket before it execs (container-init.ts).
    let initMarks = '';
    control.on('data', (chunk: Buffer) => (initMarks += chunk.toString()));
    control.on('end', () => {
      if (!initMarks) return;
      trace.add(parseMarks(initMarks));
      port.postMessage({ type: 'trace', marks: trace.marks });
    });
  });
  control.on('error', () => undefined); // EPIPE when the init died: its exit tells the runtime
  // Closed by the init before its execve, or by its exit: the exit is reported after the marks.
  const controlClosed = new Promise<void>((resolve) => control.on('close', () => resolve()));
  child.on('error', (error) => {
    port.postMessage({ type: 'failed', message: error.message });
    if (child.pid === undefined) port.close(); // nothing was spawned: no exit will come to end this thread
  });
  child.on('exit', (code, signal) => {
    void controlClosed.then(() => {
      port.postMessage({ type: 'exit', code, signal });
      port.close();
    });
  });
  // Released: nothing here keeps the thread alive any more. A child that dies before the thread
  // has ended is still reaped by libuv here, and its 'exit' is reported (messages are delivered
  // before the worker's 'exit' event); after that, the runtime's ExitWatcher reaps it.
  const onRelease = (message: { type: string }) => {
    if (message.type !== 'release') return;
    port.off('message', onRelease);
    child.unref();
    port.unref();
  };
  port.on('message', onRelease);
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

if (!isMainThread) {
  const data = workerData as StartWorkerData;
  if (data.namespaces !== undefined) run(data as Required<StartWorkerData>);
  else {
    linuxSys(); // a spare: koffi and libc are loaded while it waits
    parentPort!.postMessage({ type: 'spare-ready' });
    parentPort!.once('message', (message: { type: 'spawn'; namespaces: number; goFd: number; statusFd: number }) =>
      run({ ...data, namespaces: message.namespaces, goFd: message.goFd, statusFd: message.statusFd }),
    );
  }
}
