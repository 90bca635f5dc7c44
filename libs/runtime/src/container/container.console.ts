/**
 * The runtime's end of a container's attachable stdio (native/init/process.c), held for the container's
 * life: with a terminal, its master, whose output is appended to the container's log (so logs read
 * it as any container's) and sent to every attached client, and which takes the clients' input and
 * size; without one, the writing end of the process's stdin pipe, closed by the first client that
 * ends its input (as dockerd's StdinOnce). It lives in the agent: a restarted agent finds the
 * container running but its terminal hung up (docs/ARCHITECTURE.md "Docker clients").
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import * as tty from 'node:tty';
import { linuxSys } from '@tide/syscall';
import { sleep } from './process';
import { ContainerExitStatus, ContainerStdio, ExecSession, TerminalSize } from '../runtime.types';

/** After the exit, how long the terminal's last output may take to be read (a child that kept the
 *  terminal open keeps it open for longer: the attach then ends without it). */
const DRAIN_AFTER_EXIT_MS = 1_000;

export class ContainerConsole {
  private readonly clients = new Set<PassThrough>();
  private readonly input: net.Socket | tty.ReadStream;
  private log?: number;
  private readonly drained: Promise<void>;
  private inputOpen = true;

  constructor(private readonly fd: number, readonly stdio: ContainerStdio, private readonly logPath: string, private readonly exited: Promise<ContainerExitStatus>) {
    if (!stdio.tty) {
      this.input = new net.Socket({ fd, readable: false, writable: true });
      this.input.on('error', () => undefined); // EPIPE: the process exited or closed its stdin
      this.drained = exited.then(() => undefined);
      return;
    }
    this.log = fs.openSync(logPath, 'a', 0o600);
    // One handle on the master both ways (libuv allows one per fd), as exec's terminal (exec.io.ts).
    const terminal = new tty.ReadStream(fd);
    this.input = terminal;
    terminal.on('data', (chunk: Buffer) => this.output(chunk));
    this.drained = new Promise<void>((resolve) => {
      // EIO once every slave fd has closed: the terminal's output has ended.
      terminal.on('error', () => resolve());
      terminal.on('close', () => resolve());
    }).then(() => this.closeLog());
  }

  /**
   * A client's session: what the terminal shows from now on, or (`replay`) all it showed since the
   * start first (nothing without a terminal: the output is the log's), its input, its size. kill()
   * detaches (the session ends without an exit): a client that goes away leaves the container running.
   */
  attach(replay: boolean): ExecSession {
    const stdout = new PassThrough();
    if (this.stdio.tty) {
      // In one synchronous step with the subscription: output() writes the log before the clients.
      if (replay) stdout.write(fs.readFileSync(this.logPath));
      this.clients.add(stdout);
    }
    let detached!: () => void;
    const detach = new Promise<void>((resolve) => (detached = resolve));
    const ended = Promise.race([this.drained, this.exited.then(() => sleep(DRAIN_AFTER_EXIT_MS)), detach]);
    void ended.then(() => {
      this.clients.delete(stdout);
      stdout.end();
    });
    const stdin = new Writable({
      write: (chunk: Buffer, _encoding, done) => (this.inputOpen ? this.input.write(chunk, () => done()) : done()),
      // A terminal's input is not ended by one client; a pipe's is, and for good (StdinOnce).
      final: (done) => {
        if (!this.stdio.tty && this.inputOpen) {
          this.inputOpen = false;
          this.input.end();
        }
        done();
      },
    });
    stdin.on('error', () => undefined);
    return {
      pid: 0, stdin, stdout,
      resize: (size: TerminalSize) => this.resize(size),
      kill: () => detached(),
      // A detached session ends without an exit: the container runs on.
      exited: Promise.race([ended.then(() => this.exited), detach.then(() => undefined)]).then((exit) => ({ code: exit?.code ?? null, signal: exit?.signal ?? null })),
    };
  }

  resize(size: TerminalSize): void {
    if (this.stdio.tty) linuxSys().setWindowSize(this.fd, size);
  }

  /** At the container's removal: the ends are closed, clients detached. */
  close(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.input.destroy();
    this.closeLog();
  }

  private output(chunk: Buffer): void {
    // Synchronously, so that an attach that replays the log and then subscribes misses nothing.
    if (this.log !== undefined) fs.writeSync(this.log, chunk);
    for (const client of this.clients) client.write(chunk);
  }

  private closeLog(): void {
    if (this.log === undefined) return;
    try {
      fs.closeSync(this.log);
    } catch {
      /* closed already */
    }
    this.log = undefined;
  }
}
