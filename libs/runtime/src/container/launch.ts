/**
 * Drives one container init (init.launcher.ts spawns it in fresh namespaces, without forking the
 * agent), which boots and waits for its config. `start` hands it a container: we write the config
 * into the init's control pipe, let the caller make the cgroup, put the pid in it and record it
 * (while the init builds the root), say "go", and learn whether the user's command was exec'd. The
 * container's exit reaches the runtime through its ExitWatcher (one for all containers). A cold start
 * spawns a WaitingInit and starts it at once; the warm pool keeps a few spawned ahead of time.
 */
import { linuxSys } from '@tide/syscall';
import { InitConfig } from '../init/init.config';
import { encodeInitConfig } from '../init/init.wire';
import { RuntimeError } from '../runtime.types';
import { InitPipes } from './init.pipes';
import { ProcessHandle, processStartTime } from './process';
import type { ExitWatcher, RawExit } from './exit.watcher';
import { InitLaunch } from './init.launcher';
import { StartMark, StartTrace } from '../init/start.trace';

export interface Launch {
  /** Resolves once the user's command has been exec'd; rejects with a RuntimeError otherwise. */
  started: Promise<ProcessHandle>;
  /** Resolves when the init or the user's command has exited, also after a failed start. */
  exited: Promise<RawExit>;
}

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
  private readonly launch: InitLaunch;
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
  /** onSpawned failed (the init was killed for it); the verdict says whether the init failed first. */
  private setupFailure?: { message: string; initGone: boolean };
  private readonly booted = deferred<boolean>();
  private readonly startResult = deferred<ProcessHandle>();
  private readonly exit = deferred<RawExit>();
  /** The init has exited and every fd of the start is closed. */
  private readonly ended = deferred<void>();
  /** The verdict has been read and acted on (the start settled or failed by it). */
  private readonly verdictHandled: Promise<void>;

  /** `stageDir`: where the init stages /proc, /dev and /sys (native/init/stage.c). `exits`: where the
   *  init's exit is watched. */
  constructor(
    readonly namespaces: number,
    stageDir: string,
    exits: ExitWatcher,
  ) {
    this.startResult.promise.catch(() => undefined); // a pooled init that dies was never asked for
    this.verdictHandled = this.pipes.verdict.then((text) => this.onVerdict(text));
    this.launch = new InitLaunch(linuxSys(), exits, namespaces, stageDir, this.pipes.childEnds, {
      spawned: (handle) => this.onInitSpawned(handle),
      ready: () => this.booted.resolve(true),
      trace: (marks) => this.onTraceMarks(marks),
      failed: (message) => this.fail(message),
      exited: (exit) => this.onExited(exit),
    });
    this.pipes.childSpawned(); // the launcher has its copies of the init's ends (or failed)
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
   *  (before it waits for "go"); undefined when it exits or fails first (native/init/process.c). */
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
    const encoded = encodeInitConfig(trace ? { ...config, trace: true } : config); // InvalidSpec before the claim
    this.claimed = true;
    this.keepAlive();
    this.onSpawned = onSpawned;
    this.trace = trace;
    // Straight into the init's control pipe, which the init may still be booting to read.
    this.pipes.sendConfig(encoded);
    trace?.mark('runtime: config written');
    if (this.handle && !this.failed) this.runOnSpawned(this.handle);
    return { started: this.startResult.promise, exited: this.exit.promise };
  }

  /** Lets the init's watch and the verdict keep the event loop alive (a pooled init does not, until taken). */
  keepAlive(): void {
    this.launch.keepAlive();
    this.pipes.keepAlive();
  }

  /** Kills an init nobody will start; resolves once it and its fds are gone. */
  async discard(): Promise<void> {
    this.keepAlive(); // the caller waits for its end: the launch's events must keep coming
    this.fail('discarded');
    await Promise.all([this.exit.promise, this.ended.promise]);
  }

  private onInitSpawned(handle: ProcessHandle): void {
    this.handle = handle;
    this.trace?.mark('runtime: init\'s pid received');
    if (this.failed) handle.signal('SIGKILL'); // discarded while the launcher was still at work
    else if (this.onSpawned) this.runOnSpawned(handle);
  }

  private onTraceMarks(marks: StartMark[]): void {
    this.trace?.add(marks);
    this.traceMarks.resolve();
  }

  /** The init (or its command) exited, after its report pipe closed: the status pipe's EOF is
   *  certain, and decides whether the start succeeded. */
  private onExited(exit: RawExit): void {
    void this.exitReported(exit);
    this.traceMarks.resolve(); // no more marks can come
    const gone = () => {
      this.fail('the container init exited before it was started');
      if (!this.settledWell()) this.handle?.close(); // after a successful start the runtime owns the pidfd
      this.pipes.close();
      this.ended.resolve();
    };
    void this.verdictHandled.then(gone, gone);
  }

  /**
   * EOF on the status pipe: after "go" the exec happened, or text says why it did not; before "go",
   * EOF without a word means the init died (while pooled, or killed during its start).
   */
  private async onVerdict(text: string): Promise<void> {
    this.trace?.mark('runtime: status EOF (execve done)');
    if (text) return this.fail(text);
    if (this.setupFailure) {
      this.lostInit = !this.settled && this.setupFailure.initGone;
      return this.fail(this.setupFailure.message);
    }
    if (!this.goSent) {
      this.lostInit = !this.settled;
      return this.fail('the container init exited before it was started');
    }
    // A traced start resolves with the init's marks, which it sends on its report pipe before it execs.
    if (this.trace) await this.traceMarks.promise;
    if (!this.settled) this.startResult.resolve(this.handle!);
    this.settled = true;
    if (!this.failed) this.pipes.close(); // nothing more comes through them: no fd kept per container
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
        // E.g. it died while it was being recorded. A dying process may show as a zombie in /proc
        // before its pidfd turns readable: either counts.
        const gone = !handle.alive() || processStartTime(handle.pid) === undefined;
        // The init may have failed on its own (a user the image does not know) while its cgroup or
        // network was set up, and the setup failed only because its namespaces were gone then. Its
        // words are the reason: killed now, it says nothing more, so the verdict decides (onVerdict).
        this.setupFailure = { message: error.message, initGone: gone };
        this.pipes.closeGo();
        handle.signal('SIGKILL');
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
    // the kill happens when its pid arrives; a launcher that fails before cloning it ends by itself.
    this.pipes.closeGo();
    this.handle?.signal('SIGKILL');
    this.startResult.reject(new RuntimeError('StartFailed', message.trim()));
  }
}
