/** A recording fake of Sys for unit tests of code that orders kernel calls. */
import { Sys } from './sys';

export interface RecordedCall {
  call: keyof Sys;
  args: unknown[];
}

export class RecordingSys implements Sys {
  readonly calls: RecordedCall[] = [];
  /** The names of the calls made so far, in order. */
  names(): string[] {
    return this.calls.map((c) => c.call);
  }
  private record(call: keyof Sys, args: unknown[]): void {
    this.calls.push({ call, args });
  }
  unshare(flags: number): void { this.record('unshare', [flags]); }
  setns(fd: number, nstype: number): void { this.record('setns', [fd, nstype]); }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.record('mount', [source, target, fstype, flags, data]);
  }
  umount2(target: string, flags: number): void { this.record('umount2', [target, flags]); }
  pivotRoot(newRoot: string, putOld: string): void { this.record('pivotRoot', [newRoot, putOld]); }
  sethostname(name: string): void { this.record('sethostname', [name]); }
  chdir(path: string): void { this.record('chdir', [path]); }
  execve(path: string, argv: string[], env: string[]): never {
    this.record('execve', [path, argv, env]);
    throw new Error('execve recorded');
  }
  prctl(option: number, arg2: number): void { this.record('prctl', [option, arg2]); }
  setCloexec(fd: number, enabled: boolean): void { this.record('setCloexec', [fd, enabled]); }
  setNonblocking(fd: number, enabled: boolean): void { this.record('setNonblocking', [fd, enabled]); }
  kill(pid: number, signal: number): void { this.record('kill', [pid, signal]); }
  pidfdOpen(pid: number): number { this.record('pidfdOpen', [pid]); return 100; }
  pidfdSendSignal(pidfd: number, signal: number): void { this.record('pidfdSendSignal', [pidfd, signal]); }
  /** Answers with `readable` (set it to simulate an exited process behind a pidfd). */
  pollReadable(fd: number, timeoutMs: number): boolean {
    this.record('pollReadable', [fd, timeoutMs]);
    return this.readable;
  }
  readable = false;
  close(fd: number): void { this.record('close', [fd]); }
  getpid(): number { return 1; }
  gettid(): number { return 1; }

  // --- warm starts
  dup2(oldfd: number, newfd: number): void { this.record('dup2', [oldfd, newfd]); }
}
