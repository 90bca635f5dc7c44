/**
 * The two pipes of a start that the runtime's own thread holds: the control pipe (the init's fd 3:
 * the config, then the "go" byte) and the exec verdict (its fd 4, close-on-exec in the init:
 * EOF means execve happened, text that it failed). Held by the runtime's own thread: neither the
 * config, nor "go", nor the verdict waits for another thread to be scheduled (a thread hop of 0.3-1 ms
 * each on a busy machine, when a start worker thread held them).
 * Both are made with O_CLOEXEC, so no other child inherits them; the launch hands the init's ends to
 * posix_spawn, which dups them onto fds 3 and 4 of the launcher and so of the init only, and the runtime closes its copies of those
 * ends once the init is spawned (else the verdict's EOF would never come).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Sys } from '@tide/syscall';

/**
 * Starts the console line on the status pipe: before its verdict, an init that made the container's
 * stdio attachable (a terminal, or a pipe on stdin: native/init/process.c) names the fd of the
 * runtime's end, CONSOLE_MARK, the number, a newline. Failure text never starts with it.
 */
export const CONSOLE_MARK = '\x01';

/** Splits what the status pipe carried into the console's fd (when the init named one) and the verdict's text. */
export function splitStatus(text: string): { consoleFd?: number; verdict: string } {
  if (!text.startsWith(CONSOLE_MARK)) return { verdict: text };
  const newline = text.indexOf('\n');
  if (newline < 0) return { verdict: text.slice(1) };
  return { consoleFd: Number(text.slice(1, newline)), verdict: text.slice(newline + 1) };
}

/** The init's ends, for the launcher's fds (init.launcher.ts). */
export interface InitPipeEnds {
  goFd: number;
  statusFd: number;
}

export class InitPipes {
  readonly childEnds: InitPipeEnds;
  /** Resolves at EOF (or once closed) with what the init wrote: '' when execve happened or the init
   *  died without a word, else why the start failed. */
  readonly verdict: Promise<string>;
  /** The fd (in the init) of the runtime's end of an attachable stdio, once the init names it;
   *  undefined when the status pipe ends without it (splitStatus). */
  readonly consoleFd: Promise<number | undefined>;
  /** The runtime's end of the control pipe. A stream, not plain writes: libuv writes at once when
   *  the pipe has room (always, for a config of less than the pipe's 64 KiB, and "go"), and keeps
   *  the rest of a larger config until the init reads it, without blocking this thread. */
  private control?: net.Socket;
  private childEndsOpen = true;
  private readonly status: net.Socket;

  constructor(sys: Sys) {
    const [goRead, goWrite] = sys.pipe();
    const [statusRead, statusWrite] = sys.pipe();
    this.childEnds = { goFd: goRead, statusFd: statusWrite };
    this.control = new net.Socket({ fd: goWrite, readable: false, writable: true });
    this.control.on('error', () => undefined); // EPIPE: the init died; its exit and the verdict tell
    this.control.unref();
    this.status = new net.Socket({ fd: statusRead, readable: true, writable: false });
    let text = '';
    let named: (fd: number | undefined) => void;
    this.consoleFd = new Promise((resolve) => (named = resolve));
    this.verdict = new Promise((resolve) => {
      const ended = () => {
        const status = splitStatus(text);
        named(status.consoleFd);
        resolve(status.verdict);
      };
      this.status.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        // The console line comes alone, before "go": the init then waits, and nothing else follows.
        if (text.startsWith(CONSOLE_MARK) && text.includes('\n')) named(splitStatus(text).consoleFd);
      });
      this.status.on('end', ended);
      this.status.on('close', ended);
      this.status.on('error', () => undefined); // 'close' follows
    });
    this.status.unref();
  }

  /** Once the init has been spawned (or could not be): closes the runtime's copies of its ends. */
  childSpawned(): void {
    if (!this.childEndsOpen) return;
    this.childEndsOpen = false;
    fs.closeSync(this.childEnds.goFd);
    fs.closeSync(this.childEnds.statusFd);
  }

  /** Both streams keep the event loop alive only while a start waits on them (a pooled init's must not). */
  keepAlive(): void {
    this.control?.ref();
    this.status.ref();
  }

  /** The container's config (init.wire.ts): the init, booted and waiting or still booting, reads it
   *  whenever it gets there. */
  sendConfig(config: Buffer): void {
    this.control?.write(config);
  }

  /** One byte after the config, then EOF. */
  go(): void {
    this.control?.end('g');
    this.control = undefined;
  }

  /** Without "go": the init reads EOF, and exits without running anything of the user's. */
  closeGo(): void {
    this.control?.destroy();
    this.control = undefined;
  }

  /** Every fd still open here (after the init's exit, or when it was never spawned). */
  close(): void {
    this.childSpawned();
    this.closeGo();
    this.status.destroy();
  }
}
