/**
 * Spawns a container's init without forking the agent and without a thread: the agent posix_spawns
 * the native launcher (native/tide-launch.c; glibc clones with CLONE_VM|CLONE_VFORK, so none of the
 * agent's pages or page tables are copied), which clones the init in fresh namespaces as the agent's
 * own child (CLONE_PARENT), reports its pid on the report pipe and exits; the init is the native
 * tide-init (native/init), exec'd by the launcher's child. Before issue 15's third round a worker
 * thread per start unshared the namespaces and forked the agent from there: a thread boot and a copy
 * of the agent's page tables per start, the largest costs of a start at 1,000 replicas; until its
 * fourth, the init was a Node process, whose boot (65-78 ms of CPU) was then most of a start.
 *
 * The report pipe (the init's REPORT_FD) then carries, in order: the launcher's "<pid>\n", the init's
 * READY_BYTE once it has booted, and a traced init's marks just before it execs. Its EOF means the
 * init has exec'd or died. The init's exit, as the agent's child, comes from the ExitWatcher (one
 * SIGCHLD-driven poll for every process of the runtime), watched from the spawn on.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Sys } from '@tide/syscall';
import { READY_BYTE } from '../init/init.config';
import { StartMark } from '../init/start.trace';
import type { ExitWatcher, RawExit } from './exit.watcher';
import type { InitPipeEnds } from './init.pipes';
import { ProcessHandle, openChildPidfd } from './process';

/** Built from native/tide-launch.c by scripts/build.sh. */
export const INIT_LAUNCHER = path.join(__dirname, '../native/tide-launch');
/** The container's init the launcher execs, built from native/init by scripts/build.sh. */
export const CONTAINER_INIT = path.join(__dirname, '../native/tide-init');

export interface InitLaunchEvents {
  /** The init exists (its pid read, its pidfd opened): it may now be put in a cgroup. */
  spawned(handle: ProcessHandle): void;
  /** The init has booted and waits for its config. */
  ready(): void;
  /** A traced init's own marks, once it has exec'd the user's command. */
  trace(marks: StartMark[]): void;
  /** The launch could not happen at all (the launcher could not be spawned). */
  failed(message: string): void;
  /** The init (or the command it became) exited, or the launcher ended without an init; always last. */
  exited(exit: RawExit): void;
}

export class InitLaunch {
  private readonly report: net.Socket;
  private handle?: ProcessHandle;
  /** Claimed: the init's watch keeps the event loop alive (also when its pid comes after the claim). */
  private kept = false;

  /** `ends`: the runtime's pipes (init.pipes.ts), dup'd onto the init's fds 3 and 4; the caller
   *  closes its copies once this returns. */
  constructor(
    private readonly sys: Sys,
    private readonly exits: ExitWatcher,
    namespaces: number,
    stageDir: string,
    ends: InitPipeEnds,
    private readonly events: InitLaunchEvents,
  ) {
    const [reportRead, reportWrite] = sys.pipe();
    this.report = new net.Socket({ fd: reportRead, readable: true, writable: false });
    this.report.unref(); // a pooled init keeps nothing alive; keepAlive() when claimed
    let launcher: ProcessHandle;
    try {
      const argv = ['tide-launch', String(namespaces), CONTAINER_INIT, stageDir];
      const pid = sys.spawn(INIT_LAUNCHER, argv, [], [null, null, null, ends.goFd, ends.statusFd, reportWrite]);
      launcher = ProcessHandle.ofChild(sys, pid, openChildPidfd(sys, pid));
    } catch (error) {
      this.report.destroy();
      events.failed(`cannot run the container launcher ${INIT_LAUNCHER} (scripts/build.sh builds it): ${(error as Error).message}`);
      setImmediate(() => events.exited({ code: null, signal: null }));
      return;
    } finally {
      fs.closeSync(reportWrite);
    }
    const launcherDone = this.exits.watch(launcher, true, false).then(() => launcher.close());
    this.readReport(launcherDone);
  }

  /** The init's watch and report keep the event loop alive from now on (it was claimed). */
  keepAlive(): void {
    this.kept = true;
    this.report.ref();
    if (this.handle) this.exits.keepAlive(this.handle);
  }

  private readReport(launcherDone: Promise<void>): void {
    let text = '';
    let state: 'pid' | 'booting' | 'marks' = 'pid';
    let exited: Promise<RawExit> | undefined;
    this.report.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (state === 'pid') {
        const newline = text.indexOf('\n');
        if (newline < 0) return;
        exited = this.onPid(Number(text.slice(0, newline)));
        text = text.slice(newline + 1);
        state = 'booting';
      }
      if (state === 'booting' && text.startsWith(READY_BYTE)) {
        text = text.slice(READY_BYTE.length);
        state = 'marks';
        this.events.ready();
      }
    });
    this.report.on('error', () => undefined); // 'close' follows
    // EOF: the launcher has ended and the init has exec'd or died. Its exit is reported after its
    // marks, and only once the launcher is reaped too (nothing of the start is left behind).
    this.report.on('close', () => {
      if (state === 'marks' && text) this.events.trace(parseMarks(text));
      const exit = exited ?? Promise.resolve({ code: null, signal: null });
      void Promise.all([exit, launcherDone]).then(([raw]) => this.events.exited(raw));
    });
  }

  /** Holds the init by its pidfd and watches its exit from now on; resolves with that exit. */
  private onPid(pid: number): Promise<RawExit> {
    const handle = (this.handle = ProcessHandle.ofChild(this.sys, pid, openChildPidfd(this.sys, pid)));
    const exited = this.exits.watch(handle, true, this.kept).then((exit) => exit ?? { code: null, signal: null });
    this.events.spawned(handle);
    return exited;
  }
}

function parseMarks(text: string): StartMark[] {
  try {
    return JSON.parse(text) as StartMark[];
  } catch {
    return []; // a trace cut short (the init failed while writing it): the start's verdict still counts
  }
}
