/**
 * Starts a process inside a running container (as `docker exec`): opens the container's namespaces,
 * drives an exec worker thread (exec.worker.ts) that spawns the exec init (exec-init.ts) in them,
 * puts the new process in the container's cgroup, then says "go".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUTS, linuxSys } from '@tide/syscall';
import { ContainerCgroup } from '../cgroups/cgroup.types';
import { ProcessHandle, sleep } from '../container/process';
import { ExecSession, RuntimeError, TerminalSize } from '../runtime.types';
import { ExecInitConfig, ExecWorkerData, NamespaceFd } from './exec.config';
import { ExecIo, pipeIo, terminalIo } from './exec.io';

const EXEC_INIT = path.join(__dirname, 'exec-init.js');
const EXEC_WORKER = path.join(__dirname, 'exec.worker.js');
/** After the process has exited, how long its output may take to end (a child it left behind may hold it). */
const DRAIN_GRACE_MS = 1000;

const NAMESPACES = [['pid', CLONE_NEWPID], ['uts', CLONE_NEWUTS], ['ipc', CLONE_NEWIPC], ['net', CLONE_NEWNET]] as const;

export interface ExecTarget {
  id: string;
  /** The container's PID 1 (host pid) and its handle, to tell that the pid was not reused. */
  pid: number;
  process: ProcessHandle;
  cgroup: ContainerCgroup | undefined;
}

type WorkerMessage =
  | { type: 'spawned'; pid: number; pidfd?: number }
  | { type: 'failed'; message: string }
  | { type: 'exit'; code: number | null; signal: string | null };

/** The namespaces of the container that are not the agent's own (host networking shares the node's). */
function openNamespaces(pid: number): { namespaces: NamespaceFd[]; mount: number } {
  const namespaces: NamespaceFd[] = [];
  const opened: number[] = [];
  try {
    for (const [name, type] of NAMESPACES) {
      if (fs.statSync(`/proc/${pid}/ns/${name}`).ino === fs.statSync(`/proc/self/ns/${name}`).ino) continue;
      namespaces.push({ fd: fs.openSync(`/proc/${pid}/ns/${name}`, 'r'), type });
      opened.push(namespaces.at(-1)!.fd);
    }
    return { namespaces, mount: fs.openSync(`/proc/${pid}/ns/mnt`, 'r') };
  } catch (error) {
    opened.forEach((fd) => fs.closeSync(fd));
    throw error;
  }
}

export async function startExec(target: ExecTarget, config: ExecInitConfig, size?: TerminalSize): Promise<ExecSession> {
  let ns: { namespaces: NamespaceFd[]; mount: number };
  try {
    ns = openNamespaces(target.pid);
  } catch {
    throw new RuntimeError('NotFound', `container ${target.id} is not running`);
  }
  const nsFds = [...ns.namespaces.map((n) => n.fd), ns.mount];
  let io: ExecIo | undefined;
  try {
    // Opened by pid: only the pidfd, still alive after the opens, says this pid was not reused.
    if (!target.process.alive()) throw new RuntimeError('NotFound', `container ${target.id} is not running`);
    io = config.tty ? terminalIo(target.pid, size) : pipeIo();
  } catch (error) {
    nsFds.forEach((fd) => fs.closeSync(fd));
    throw error;
  }
  const data: ExecWorkerData = {
    execInit: EXEC_INIT, config: JSON.stringify(config), namespaces: ns.namespaces, mountNamespaceFd: ns.mount, stdio: io.childFds,
  };
  return runWorker(target, data, io, [...new Set([...io.childFds, ...nsFds])]);
}

/** `childFds`: the runtime's copies of what the child gets; closed once it has them (or it failed). */
function runWorker(target: ExecTarget, data: ExecWorkerData, io: ExecIo, childFds: number[]): Promise<ExecSession> {
  const worker = new Worker(EXEC_WORKER, { workerData: data });
  let closed = false;
  const closeChildFds = () => {
    if (!closed) childFds.forEach((fd) => fs.closeSync(fd));
    closed = true;
  };
  let resolveExit!: (exit: { code: number | null; signal: string | null }) => void;
  const rawExit = new Promise<{ code: number | null; signal: string | null }>((resolve) => (resolveExit = resolve));
  return new Promise<ExecSession>((resolve, reject) => {
    let handle: ProcessHandle | undefined;
    let started = false;
    const fail = (message: string) => {
      if (started) return; // the session is the caller's: its exit comes from the worker
      closeChildFds();
      handle?.signal('SIGKILL');
      io.destroy();
      void worker.terminate();
      reject(new RuntimeError('StartFailed', `exec in ${target.id}: ${message}`));
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', () => (handle ? resolveExit({ code: null, signal: null }) : fail('the exec worker ended before spawning')));
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'failed') return fail(message.message);
      if (message.type === 'exit') return resolveExit({ code: message.code, signal: message.signal });
      closeChildFds();
      handle = ProcessHandle.ofChild(linuxSys(), message.pid, message.pidfd);
      const process = handle;
      // Into the cgroup before "go": nothing the user runs escapes the container's limits.
      Promise.resolve(target.cgroup?.addProcess(message.pid)).then(() => {
        worker.postMessage({ type: 'go' });
        started = true;
        resolve(session(process, io, rawExit));
      }, (error: Error) => fail(error.message));
    });
  });
}

function session(process: ProcessHandle, io: ExecIo, rawExit: Promise<{ code: number | null; signal: string | null }>): ExecSession {
  const exited = rawExit.then(async (exit) => {
    await Promise.race([io.drained, sleep(DRAIN_GRACE_MS)]);
    // A starved event loop runs the grace timer before it polls the pipes: one poll phase first, so
    // that output already waiting in them is read, not destroyed with them.
    await new Promise((resolve) => setImmediate(resolve));
    io.destroy();
    process.close();
    return exit;
  });
  return {
    pid: process.pid,
    ...io.streams,
    kill: (signal) => process.signal(signal),
    exited,
  };
}
