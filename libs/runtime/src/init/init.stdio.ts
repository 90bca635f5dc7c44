/**
 * The main process's stdio for clients that attach to it (`docker run -i`, `-t`), made by the
 * container's init after pivot_root and before "go". The init keeps the runtime's end (a terminal's
 * master, or the writing end of a stdin pipe) open close-on-exec and names its fd on the status pipe
 * (CONSOLE_MARK, the number, a newline); the runtime copies it with pidfd_getfd before it writes "go",
 * so that the user's process never holds it and the end is never without a holder.
 */
import * as fs from 'node:fs';
import { O_NOCTTY, O_RDWR, Sys, TIOCSCTTY } from '@tide/syscall';
import type { ContainerStdio } from '../runtime.types';

/** Starts the console line on the status pipe: failure text (an error's message) never starts with it. */
export const CONSOLE_MARK = '\x01';

/**
 * tty: a terminal of the container's own devpts (mounted at /dev/pts by ROOT_STEPS), as runc makes
 * it: the slave becomes fds 0-2 and the controlling terminal (the init is a session leader already:
 * the launcher's child calls setsid before it execs Node). Otherwise stdin is a pipe and stdout and
 * stderr stay the log file. Returns the runtime's end.
 */
export function openAttachableStdio(sys: Sys, stdio: ContainerStdio): number {
  if (!stdio.tty) {
    const [read, write] = sys.pipe();
    sys.dup2(read, 0);
    sys.close(read);
    return write;
  }
  const master = fs.openSync('/dev/pts/ptmx', O_RDWR | O_NOCTTY);
  sys.grantpt(master);
  sys.unlockpt(master);
  const slave = fs.openSync(sys.ptsname(master), O_RDWR | O_NOCTTY);
  sys.ioctl(slave, TIOCSCTTY, 0);
  for (const fd of [0, 1, 2]) sys.dup2(slave, fd);
  fs.closeSync(slave);
  return master;
}

/** The status pipe's console line for `fd`. */
export function consoleLine(fd: number): string {
  return `${CONSOLE_MARK}${fd}\n`;
}

/** Splits what the status pipe carried into the console's fd (when the init named one) and the verdict's text. */
export function splitStatus(text: string): { consoleFd?: number; verdict: string } {
  if (!text.startsWith(CONSOLE_MARK)) return { verdict: text };
  const newline = text.indexOf('\n');
  if (newline < 0) return { verdict: text.slice(1) };
  return { consoleFd: Number(text.slice(1, newline)), verdict: text.slice(newline + 1) };
}
