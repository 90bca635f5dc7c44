/**
 * Drives one start worker (start.worker.ts): the worker unshares the namespaces and spawns the init,
 * which boots and waits for its config. `start` hands it a container: we send the config, let the
 * caller put the pid in its cgroup and record it (while the init builds the root), say "go", and
 * learn whether the user's command was exec'd. The worker then stays until the container exits, to
 * report its status. A cold start spawns a WaitingInit and starts it at once; the warm pool keeps a
 * few spawned ahead of time.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { linuxSys } from '@tide/syscall';
import { InitConfig, StartWorkerData } from '../init/init.config';
import { RuntimeError } from '../runtime.types';
import { ProcessHandle, processStartTime } from './process';
import { StartMark, StartTrace } from './start.trace';

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
  | { type: 'ready' }
  | { type: 'started'; marks?: StartMark[] }
  | { type: 'failed'; message: string; lost?: boolean }
  | { type: 'exit'; code: number | null; signal: string | null };

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** An init in fresh namespaces, booted (or booting) and waiting for the container it will become. */
export class WaitingInit {
  /** A cgroup the init joined while it waited (warm.cgroup.ts), if any. */
  warmCgroup?: Promise<string | undefined>;
  private readonly worker: Worker;
  private handle?: ProcessHandle;
  private onSpawned?: (process: ProcessHandle) => Promise<void>;
  private trace?: StartTrace;
  private pendingSpawn: Promise<void> = Promise.resolve();
  private claimed = false;
  /** Set once the start can no longer succeed (died while waiting, discarded, or failed). */
  private failed = false;
  private settled = false;
  private lostInit = false;
  private readonly booted = deferred<boolean>();
  private readonly startResult = deferred<ProcessHandle>();
  private readonly exit = deferred<RawExit>();
  private readonly workerGone = deferred<void>();

  constructor(readonly namespaces: number) {
    const data: StartWorkerData = { initScript: INIT_SCRIPT, namespaces };
    this.worker = new Worker(START_WORKER, { workerData: data });
    this.startResult.promise.catch(() => undefined); // a pooled init that dies was never asked for
    this.worker.on('error', (error) => this.fail(error.message));
    // The worker ends after reporting the exit, or on its own when it failed before spawning.
    this.worker.on('exit', () => {
      this.fail('the start worker ended before the container started');
      if (!this.settledWell()) this.handle?.close(); // after a successful start the runtime owns the pidfd
      void this.pendingSpawn.then(() => this.exit.resolve({ code: null, signal: null }));
      this.workerGone.resolve();
    });
    this.worker.on('message', (message: WorkerMessage) => this.onMessage(message));
    // A waiting init must not keep the agent's event loop alive; start() takes it back. After the
    // listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  /** True once booted and waiting for its config; false if it died (or was discarded) first. */
  get ready(): Promise<boolean> {
    return this.booted.promise;
  }

  /** The init died before "go" without saying why (killed, e.g. while it waited in the pool): none
   *  of the user's code ran, so the start may be tried again with another init. */
  get lost(): boolean {
    return this.lostInit;
  }

  /** Host pid of the init, once spawned. */
  get pid(): number | undefined {
    return this.handle?.pid;
  }

  /** Resolves when the init (or the command it became) has exited, also after a failed start. */
  get exited(): Promise<RawExit> {
    return this.exit.promise;
  }

  /** Can still become a container: not claimed, not failed, process not known to be gone. */
  usable(): boolean {
    if (this.claimed || this.failed) return false;
    return this.handle === undefined || (this.handle.alive() && processStartTime(this.handle.pid) !== undefined);
  }

  /**
   * Makes the init this container. `onSpawned` runs between spawn and "go", while the init builds
   * its root: the place to join the cgroup, so that nothing of the user's runs outside its limits.
   */
  start(config: InitConfig, onSpawned: (process: ProcessHandle) => Promise<void>, trace?: StartTrace): Launch {
    if (this.claimed) throw new Error('a waiting init can be started only once');
    this.claimed = true;
    this.keepAlive();
    this.onSpawned = onSpawned;
    this.trace = trace;
    trace?.mark('runtime: config sent to the worker');
    this.worker.postMessage({ type: 'claim', config: JSON.stringify(trace ? { ...config, trace: true } : config), trace: trace !== undefined });
    if (this.handle && !this.failed) this.runOnSpawned(this.handle);
    return { started: this.startResult.promise, exited: this.exit.promise };
  }

  /** Lets the worker keep the event loop alive again (a pooled init does not, until it is taken). */
  keepAlive(): void {
    this.worker.ref();
  }

  /** Kills an init nobody will start; resolves once it, its worker and their fds are gone. */
  async discard(): Promise<void> {
    this.keepAlive(); // the caller waits for its end: the worker's messages must keep coming
    this.fail('discarded');
    await Promise.all([this.exit.promise, this.workerGone.promise]);
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === 'spawned') {
      this.handle = ProcessHandle.ofChild(linuxSys(), message.pid, message.pidfd);
      this.trace?.mark('runtime: "spawned" received');
      if (this.failed) this.handle.signal('SIGKILL'); // discarded while its worker was still booting
      else if (this.onSpawned) this.runOnSpawned(this.handle);
    } else if (message.type === 'ready') {
      this.booted.resolve(true);
    } else if (message.type === 'started') {
      this.trace?.add(message.marks);
      this.trace?.mark('runtime: "started" received');
      if (!this.settled) this.startResult.resolve(this.handle!);
      this.settled = true;
    } else if (message.type === 'failed') {
      this.lostInit = !this.settled && message.lost === true;
      this.fail(message.message);
    } else {
      // After onSpawned has settled, so that a caller cleaning up after the exit races nothing.
      void this.pendingSpawn.then(() => this.exit.resolve({ code: message.code, signal: message.signal }));
      void this.worker.terminate();
    }
  }

  private runOnSpawned(handle: ProcessHandle): void {
    this.pendingSpawn = this.onSpawned!(handle).then(
      () => {
        this.trace?.mark('runtime: cgroup joined, state written; go sent');
        this.worker.postMessage({ type: 'go' });
      },
      (error: Error) => {
        // E.g. it died while it was being recorded. A dying Node process shows as a zombie in /proc
        // before its pidfd turns readable (its other threads are still exiting): either counts.
        this.lostInit = !this.settled && (!handle.alive() || processStartTime(handle.pid) === undefined);
        this.fail(error.message);
      },
    );
  }

  private settledWell(): boolean {
    return this.settled && !this.failed;
  }

  private fail(message: string): void {
    this.booted.resolve(false);
    if (this.settled) return;
    this.settled = this.failed = true;
    // The init may be waiting for its config or for "go": it must not run on. Without a handle yet,
    // the kill happens when "spawned" arrives; a worker that fails before spawning ends by itself.
    this.handle?.signal('SIGKILL');
    this.startResult.reject(new RuntimeError('StartFailed', message.trim()));
  }
}
