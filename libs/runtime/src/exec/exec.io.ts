/**
 * The stdio of an exec'd process, on the runtime's side: three pipes, or a pseudo-terminal of the
 * container's own devpts. The child's ends are plain fds the exec worker hands to spawn; the
 * runtime's ends are streams on the main thread's event loop.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import * as tty from 'node:tty';
import { O_NOCTTY, O_RDWR, linuxSys } from '@tide/syscall';
import { ExecSession, TerminalSize } from '../runtime.types';

export interface ExecIo {
  /** The child's fds 0-2; the runtime closes its copies once the child has been spawned. */
  childFds: [number, number, number];
  streams: Pick<ExecSession, 'stdin' | 'stdout' | 'stderr' | 'resize'>;
  /** Resolves when the output has been read to its end (every writer of it has gone). */
  drained: Promise<void>;
  /** Closes the runtime's ends. */
  destroy(): void;
}

const ended = (stream: NodeJS.ReadableStream) => new Promise<void>((resolve) => stream.once('end', resolve).once('close', resolve));

/** Without a terminal: a pipe per stream (pipe2 with O_CLOEXEC, so that no other child inherits them). */
export function pipeIo(): ExecIo {
  const sys = linuxSys();
  const [inRead, inWrite] = sys.pipe();
  const [outRead, outWrite] = sys.pipe();
  const [errRead, errWrite] = sys.pipe();
  const stdin = new net.Socket({ fd: inWrite, readable: false, writable: true });
  // EPIPE when the process exits without reading all of its input: nothing to tell anyone.
  stdin.on('error', () => undefined);
  const stdout = new net.Socket({ fd: outRead, readable: true, writable: false });
  const stderr = new net.Socket({ fd: errRead, readable: true, writable: false });
  return {
    childFds: [inRead, outWrite, errWrite],
    streams: { stdin, stdout, stderr, resize: () => undefined },
    drained: Promise.all([ended(stdout), ended(stderr)]).then(() => undefined),
    destroy: () => [stdin, stdout, stderr].forEach((s) => s.destroy()),
  };
}

/**
 * A terminal allocated in the container's own devpts instance, as runc does: posix_openpt would
 * open the host's /dev/ptmx, whose terminals the container cannot name. The container's ptmx and
 * slave are reached through /proc/PID/root, and both path components there are mount points (/dev,
 * /dev/pts) that the container, without CAP_SYS_ADMIN, cannot replace.
 */
export function terminalIo(containerPid: number, size: TerminalSize | undefined): ExecIo {
  const sys = linuxSys();
  const root = `/proc/${containerPid}/root`;
  const master = fs.openSync(`${root}/dev/pts/ptmx`, O_RDWR | O_NOCTTY);
  let slave: number;
  try {
    sys.grantpt(master);
    sys.unlockpt(master);
    // "/dev/pts/N": the slave's name inside the container, where `tty` will find it.
    slave = fs.openSync(`${root}${sys.ptsname(master)}`, O_RDWR | O_NOCTTY);
    if (size) sys.setWindowSize(master, size);
  } catch (error) {
    fs.closeSync(master);
    throw error;
  }
  // One handle on the master both ways (libuv allows one per fd): it reads what the terminal shows
  // and writes what is typed.
  const terminal = new tty.ReadStream(master);
  const stdout = new PassThrough();
  terminal.on('data', (chunk: Buffer) => stdout.write(chunk));
  // EIO once every slave fd has closed: the terminal's output has ended.
  terminal.on('error', () => stdout.end());
  terminal.on('close', () => stdout.end());
  const stdin = new Writable({
    write: (chunk: Buffer, _encoding, done) => terminal.write(chunk, (error) => done(error ?? null)),
    // Ending the input types ^D, the terminal's end of file (in canonical mode).
    final: (done) => terminal.write('\x04', () => done()),
  });
  stdin.on('error', () => undefined);
  return {
    childFds: [slave, slave, slave],
    streams: { stdin, stdout, stderr: undefined, resize: (s) => sys.setWindowSize(master, s) },
    drained: ended(stdout),
    destroy: () => terminal.destroy(),
  };
}
