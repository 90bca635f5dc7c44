/**
 * Runs in a fresh worker thread, one per exec. Namespaces belong to threads: this one enters the
 * container's PID, UTS, IPC (and network, when it has its own) namespaces, which the rest of the
 * agent never sees, and spawns the exec init from here. The child is born in the container's PID
 * namespace (setns(CLONE_NEWPID) applies to the children of the thread) but still in the host's
 * mount namespace, so that Node can start; the exec init enters the container's mount namespace
 * itself (exec-init.ts). The thread then stays to receive the child's exit status.
 *
 * Messages: ← {type:'go'} ; → {type:'spawned', pid, pidfd} | {type:'failed', message} | {type:'exit', code, signal}
 */
import { spawn } from 'node:child_process';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CLONE_NEWNS, linuxSys } from '@tide/syscall';
import { sealRuntimeBinary } from '../isolation/sealed.binary';
import { openChildPidfd } from '../container/process';
import { EXEC_GO_FD, ExecWorkerData } from './exec.config';

function run(data: ExecWorkerData): void {
  const port = parentPort!;
  const sys = linuxSys();
  // Any order: without a user namespace none of these depends on another.
  for (const ns of data.namespaces) sys.setns(ns.fd, ns.type);
  // A mount namespace of this thread's own, for the read-only bind of node the exec init runs (sealed.binary.ts).
  sys.unshare(CLONE_NEWNS);
  const child = spawn(sealRuntimeBinary(sys), [data.execInit], {
    stdio: [...data.stdio, 'pipe', data.mountNamespaceFd],
    env: { TIDE_EXEC: data.config },
  });
  const go = child.stdio[EXEC_GO_FD] as NodeJS.WritableStream;
  // EPIPE when the child was killed before "go" reached it: its exit is reported below.
  go.on('error', () => undefined);
  child.on('error', (error) => port.postMessage({ type: 'failed', message: error.message }));
  child.on('exit', (code, signal) => {
    port.postMessage({ type: 'exit', code, signal });
    port.close();
  });
  port.on('message', (message: { type: string }) => {
    if (message.type === 'go') go.end('g');
  });
  // Synchronously after spawn; the runtime on the main thread owns and closes this fd.
  if (child.pid !== undefined) port.postMessage({ type: 'spawned', pid: child.pid, pidfd: openChildPidfd(sys, child.pid) });
}

if (!isMainThread) run(workerData as ExecWorkerData);
