/**
 * Drives one start worker (start.worker.ts): the worker unshares the namespaces and spawns the init,
 * which boots and waits for its config. `start` hands it a container: we write the config into the
 * init's control pipe, let the caller make the cgroup, put the pid in it and record it (while the
 * init builds the root), say "go", and learn whether the user's command was exec'd. Then the worker is
 * released and ends: the container's exit reaches the runtime through its ExitWatcher (one for all
 * containers), or through the worker if it comes first. A cold start spawns a WaitingInit and starts
 * it at once; the warm pool keeps a few spawned ahead of time.
 */
import { Worker } from 'node:worker_threads';
import { linuxSys } from '@tide/syscall';
import { InitConfig, StartWorkerData } from '../init/init.config';
import { RuntimeError } from '../runtime.types';
import { InitPipes } from './init.pipes';
import { ProcessHandle, processStartTime } from './process';
import type { SpareWorker } from './spare.worker';
import type { ExitWatcher } from './exit.watcher';
import { INIT_SCRIPT, START_WORKER } from './start.paths';
import { StartMark, StartTrace } from '../init/start.trace';

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
  | { type: 'trace'; marks: StartMark[] }
  | { type: 'failed'; message: string }
  | { type: 'exit'; code: number | null; signal: string | null }
  | { type: 'spare-ready' };

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
  /** Whether the worker was a booted spare (for the start's trace). */
  readonly fromSpare: boolean;
  private readonly pipes = new InitPipes(linuxSys());
  private handle?: ProcessHandle;
  private onSpawned?: (process: ProcessHandle) => Promise<void>;
  private trace?: StartTrace;
  private readonly traceMarks = deferred<void>();
  private pendingSpawn: Promise<void> = Promise.resolve();
  private claimed = false;
  private goSent = false;
  /** Set once the start can no longer succeed (died while waiting, discarded, or failed). */
  private failed = false;
  private settled = false;
  private lostInit = false;
  private readonly booted = deferred<boolean>();
  private readonly startResult = deferred<ProcessHandle>();
  private readonly exit = deferred<RawExit>();
  private readonly workerGone = deferred<void>();
  /** The verdict has been read and acted on (the start settled or failed by it). */
  private readonly verdictHandled: Promise<void>;
  /** The worker reported the process's exit: the status pipe's EOF is certain to come. */
  private exitSeen = false;

  /** `stageDir`: where the init stages /proc, /dev and /sys (init.steps.ts). `exits`: where the
   *  container's exit is watched once the worker is gone. `spare`: a booted worker (spare.worker.ts)
   *  to use instead of a new one. */
  constructor(
    readonly namespaces: number,
    stageDir: string,
    private readonly exits: ExitWatcher,
    spare?: SpareWorker,
  ) {
    const data: StartWorkerData = { initScript: INIT_SCRIPT, stageDir, namespaces, ...this.pipes.childEnds };
    const booted = spare?.take(namespaces, this.pipes.childEnds);
    this.fromSpare = booted !== undefined;
    this.worker = booted ?? new Worker(START_WORKER, { workerData: data });
    this.startResult.promise.catch(() => undefined); // a pooled init that dies was never asked for
    this.verdictHandled = this.pipes.verdict.then((text) => this.onVerdict(text));
    this.worker.on('error', (error) => this.fail(error.message));
    // The worker ends after reporting the exit, or on its own when it failed before spawning.
    this.worker.on('exit', () => {
      const gone = () => {
        this.fail('the start worker ended before the container started');
        if (!this.settledWell()) this.handle?.close(); // after a successful start the runtime owns the pidfd
        this.pipes.close();
        void this.exitReported({ code: null, signal: null });
        this.workerGone.resolve();
      };
      // A command that exits at once can end its worker before the verdict is read (a busy machine
      // delays that read): the exit was reported, so the verdict's EOF is certain, and it decides
      // whether the start succeeded. No trace marks come from an ended worker.
      if (!this.exitSeen && this.settledWell()) return this.handOver();
      if (!this.exitSeen) return gone();
      this.traceMarks.resolve();
      void this.verdictHandled.then(gone, gone);
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

  /** The fd, in the init, of the runtime's end of an attachable stdio, once the init has opened it
   *  (before it waits for "go"); undefined when it exits or fails first (init.stdio.ts). */
  get consoleFd(): Promise<number | undefined> {
    return this.pipes.consoleFd;
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
    // Straight into the init's control pipe: no hop through the worker's thread.
    this.pipes.sendConfig(JSON.stringify(trace ? { ...config, trace: true } : config));
    trace?.mark('runtime: config written');
    if (this.handle && !this.failed) this.runOnSpawned(this.handle);
    return { started: this.startResult.promise, exited: this.exit.promise };
  }

  /** Lets the worker and the verdict keep the event loop alive again (a pooled init does not, until taken). */
  keepAlive(): void {
    this.worker.ref();
    this.pipes.keepAlive();
  }

  /** Kills an init nobody will start; resolves once it, its worker and their fds are gone. */
  async discard(): Promise<void> {
    this.keepAlive(); // the caller waits for its end: the worker's messages must keep coming
    this.fail('discarded');
    await Promise.all([this.exit.promise, this.workerGone.promise]);
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === 'spawned') {
      this.pipes.childSpawned();
      this.handle = ProcessHandle.ofChild(linuxSys(), message.pid, message.pidfd);
      this.trace?.mark('runtime: "spawned" received');
      if (this.failed) this.handle.signal('SIGKILL'); // discarded while its worker was still booting
      else if (this.onSpawned) this.runOnSpawned(this.handle);
    } else if (message.type === 'ready') {
      this.booted.resolve(true);
    } else if (message.type === 'trace') {
      this.trace?.add(message.marks);
      this.traceMarks.resolve();
    } else if (message.type === 'failed') {
      this.fail(message.message);
    } else if (message.type === 'exit') {
      this.exitSeen = true;
      void this.exitReported({ code: message.code, signal: message.signal });
      void this.worker.terminate();
    }
  }

  /**
   * EOF on the status pipe: after "go" the exec happened, or text says why it did not; before "go",
   * EOF without a word means the init died (while pooled, or killed during its start).
   */
  private async onVerdict(text: string): Promise<void> {
    this.trace?.mark('runtime: status EOF (execve done)');
    if (text) return this.fail(text);
    if (!this.goSent) {
      this.lostInit = !this.settled;
      return this.fail('the container init exited before it was started');
    }
    // A traced start resolves with the init's marks, which its worker sends once the init has exec'd.
    if (this.trace) await this.traceMarks.promise;
    if (!this.settled) this.startResult.resolve(this.handle!);
    this.settled = true;
    if (!this.failed) this.worker.postMessage({ type: 'release' });
  }

  /** The worker ended after a successful start with the container still running (or not reaped yet):
   *  its exit now comes from the runtime's ExitWatcher, the container being the agent's child. */
  private handOver(): void {
    this.workerGone.resolve();
    this.pipes.close();
    void this.exits.watch(this.handle!, true).then((exit) => this.exitReported(exit ?? { code: null, signal: null }));
  }

  /** The exit is known after the verdict and after onSpawned has settled, so that the runtime always
   *  learns first whether the exec happened, and a caller cleaning up after the exit races nothing. */
  private async exitReported(exit: RawExit): Promise<void> {
    await Promise.all([this.pendingSpawn, this.pipes.verdict]);
    this.exit.resolve(exit);
  }

  private runOnSpawned(handle: ProcessHandle): void {
    this.pendingSpawn = this.onSpawned!(handle).then(
      () => {
        if (this.failed) return;
        this.trace?.mark('runtime: cgroup joined, state written; go written');
        this.goSent = true;
        this.pipes.go();
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
    this.pipes.closeGo();
    this.handle?.signal('SIGKILL');
    this.startResult.reject(new RuntimeError('StartFailed', message.trim()));
  }
}
