/** A recording fake of Sys for unit tests of code that orders kernel calls. */
import { CapabilitySets, ChildExit, Sys, WindowSize } from './sys';

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
  chdir(path: string): void { this.record('chdir', [path]); }
  execve(path: string, argv: string[], env: string[]): never {
    this.record('execve', [path, argv, env]);
    throw new Error('execve recorded');
  }
  prctl(option: number, arg2: number): void { this.record('prctl', [option, arg2]); }
  setCloexec(fd: number, enabled: boolean): void { this.record('setCloexec', [fd, enabled]); }
  kill(pid: number, signal: number): void { this.record('kill', [pid, signal]); }
  setNonblocking(fd: number, enabled: boolean): void { this.record('setNonblocking', [fd, enabled]); }
  pidfdOpen(pid: number): number { this.record('pidfdOpen', [pid]); return 100; }
  pidfdGetfd(pidfd: number, targetFd: number): number { this.record('pidfdGetfd', [pidfd, targetFd]); return 101; }
  pidfdSendSignal(pidfd: number, signal: number): void { this.record('pidfdSendSignal', [pidfd, signal]); }
  /** Answers with `readable` (set it to simulate an exited process behind a pidfd). */
  pollReadable(fd: number, timeoutMs: number): boolean {
    this.record('pollReadable', [fd, timeoutMs]);
    return this.readable;
  }
  readable = false;
  /** Every fd counts as readable while `readable` is set. */
  readableFds(fds: number[]): number[] {
    this.record('readableFds', [fds]);
    return this.readable ? fds : [];
  }
  /** Answers with `childExit` (undefined: still running). */
  reapChild(id: number, by: 'pidfd' | 'pid'): ChildExit | undefined {
    this.record('reapChild', [id, by]);
    return this.childExit;
  }
  childExit?: ChildExit;
  close(fd: number): void { this.record('close', [fd]); }
  getpid(): number { return 1; }
  gettid(): number { return 1; }

  // Image store (issue 3). Extended attributes are kept in memory per path, so reads see writes.
  readonly xattrs = new Map<string, Map<string, Buffer>>();
  mknod(path: string, mode: number, major: number, minor: number): void { this.record('mknod', [path, mode, major, minor]); }
  lsetxattr(path: string, name: string, value: Buffer): void {
    this.record('lsetxattr', [path, name, value]);
    if (!this.xattrs.has(path)) this.xattrs.set(path, new Map());
    this.xattrs.get(path)!.set(name, value);
  }
  lgetxattr(path: string, name: string): Buffer | undefined {
    this.record('lgetxattr', [path, name]);
    return this.xattrs.get(path)?.get(name);
  }
  llistxattr(path: string): string[] {
    this.record('llistxattr', [path]);
    return [...(this.xattrs.get(path)?.keys() ?? [])];
  }
  flock(fd: number, operation: number): boolean { this.record('flock', [fd, operation]); return true; }
  // --- Identities, capabilities, sessions and terminals (issue 3, isolation) ---
  setresuid(ruid: number, euid: number, suid: number): void { this.record('setresuid', [ruid, euid, suid]); }
  setresgid(rgid: number, egid: number, sgid: number): void { this.record('setresgid', [rgid, egid, sgid]); }
  setgroups(gids: number[]): void { this.record('setgroups', [gids]); }
  /** What capget answers (set it to simulate a thread's capabilities). */
  capabilities: CapabilitySets = { effective: 0n, permitted: 0n, inheritable: 0n };
  capget(): CapabilitySets { this.record('capget', []); return this.capabilities; }
  capset(sets: CapabilitySets): void { this.record('capset', [sets]); }
  prctlValue(option: number, arg2: number, arg3: number): number { this.record('prctlValue', [option, arg2, arg3]); return 0; }
  setsid(): number { this.record('setsid', []); return 1; }
  ioctl(fd: number, request: number, arg: number): number { this.record('ioctl', [fd, request, arg]); return 0; }
  windowSize: WindowSize = { rows: 24, cols: 80 };
  getWindowSize(fd: number): WindowSize { this.record('getWindowSize', [fd]); return this.windowSize; }
  setWindowSize(fd: number, size: WindowSize): void { this.record('setWindowSize', [fd, size]); }
  grantpt(fd: number): void { this.record('grantpt', [fd]); }
  unlockpt(fd: number): void { this.record('unlockpt', [fd]); }
  ptsname(fd: number): string { this.record('ptsname', [fd]); return '/dev/pts/0'; }
  pipe(): [number, number] { this.record('pipe', []); return [101, 102]; }
  // --- warm starts
  dup2(oldfd: number, newfd: number): void { this.record('dup2', [oldfd, newfd]); }
  // --- hardened containers (issue 14)
  seccompSetFilter(program: Buffer): void { this.record('seccompSetFilter', [program]); }
  closeRange(first: number, last: number, flags: number): void { this.record('closeRange', [first, last, flags]); }
  /** What getcwd answers. */
  cwd = '/';
  getcwd(): string { this.record('getcwd', []); return this.cwd; }
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
    this.record('openat2', [dirfd, path, flags, mode, resolve]);
    return 101;
  }
  spawn(path: string, argv: string[], env: string[], fds: (number | null)[], options?: { setsid?: boolean }): number {
    this.record('spawn', [path, argv, env, fds, options]);
    return 4242;
  }
  routeNetlinkSocket(): number { this.record('routeNetlinkSocket', []); return 103; }
  sendDatagram(fd: number, message: Buffer): void { this.record('sendDatagram', [fd, message]); }
  receiveDatagram(fd: number, buffer: Buffer): number { this.record('receiveDatagram', [fd, buffer]); return 0; }
}
