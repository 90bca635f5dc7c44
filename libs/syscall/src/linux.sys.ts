/** The real Sys: koffi calls into glibc. Loaded lazily so that importing this package costs nothing. */
import koffi from 'koffi';
import { Sys, SyscallError } from './sys';

/** x86_64 and aarch64 syscall numbers for calls glibc has no wrapper for. */
const SYSCALL_NUMBERS: Record<string, { pivotRoot: number; pidfdOpen: number; pidfdSendSignal: number; gettid: number }> = {
  x64: { pivotRoot: 155, pidfdOpen: 434, pidfdSendSignal: 424, gettid: 186 },
  arm64: { pivotRoot: 41, pidfdOpen: 434, pidfdSendSignal: 424, gettid: 178 },
};

const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = 0o4000;
const POLLIN = 0x1;

type Fn = (...args: unknown[]) => number;

class LinuxSys implements Sys {
  private readonly fn: Record<string, Fn>;
  private readonly numbers = SYSCALL_NUMBERS[process.arch];

  constructor() {
    if (!this.numbers) throw new Error(`unsupported architecture ${process.arch}`);
    const libc = koffi.load('libc.so.6');
    koffi.struct('PollFd', { fd: 'int', events: 'short', revents: 'short' });
    const declare = (signature: string) => libc.func(signature) as Fn;
    this.fn = {
      unshare: declare('int unshare(int flags)'),
      setns: declare('int setns(int fd, int nstype)'),
      mount: declare('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
      umount2: declare('int umount2(const char *target, int flags)'),
      sethostname: declare('int sethostname(const char *name, size_t len)'),
      chdir: declare('int chdir(const char *path)'),
      execve: declare('int execve(const char *path, const char **argv, const char **envp)'),
      prctl: declare('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
      fcntl: declare('int fcntl(int fd, int cmd, int arg)'),
      kill: declare('int kill(int pid, int sig)'),
      getpid: declare('int getpid()'),
      close: declare('int close(int fd)'),
      poll: declare('int poll(_Inout_ PollFd *fds, unsigned long nfds, int timeout)'),
      strerror: declare('const char *strerror(int errnum)') as unknown as Fn,
      syscall2: declare('long syscall(long number, const char *a, const char *b)'),
      syscallInt: declare('long syscall(long number, long a, long b)'),
      syscall4: declare('long syscall(long number, long a, long b, void *c, long d)'),
      // warm starts
      dup2: declare('int dup2(int oldfd, int newfd)'),
    };
  }

  private check(call: string, result: number, detail = ''): number {
    if (result < 0) {
      // Read errno before anything else can call into libc and overwrite it.
      const errno = koffi.errno();
      throw new SyscallError(call, errno, detail, String(this.fn.strerror(errno)).toLowerCase());
    }
    return result;
  }

  unshare(flags: number): void {
    this.check('unshare', this.fn.unshare(flags));
  }
  setns(fd: number, nstype: number): void {
    this.check('setns', this.fn.setns(fd, nstype));
  }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.check('mount', this.fn.mount(source, target, fstype, flags, data), `${source ?? ''} on ${target}`);
  }
  umount2(target: string, flags: number): void {
    this.check('umount2', this.fn.umount2(target, flags), target);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    this.check('pivot_root', this.fn.syscall2(this.numbers.pivotRoot, newRoot, putOld), newRoot);
  }
  sethostname(name: string): void {
    this.check('sethostname', this.fn.sethostname(name, Buffer.byteLength(name)));
  }
  chdir(path: string): void {
    this.check('chdir', this.fn.chdir(path), path);
  }
  execve(path: string, argv: string[], env: string[]): never {
    this.check('execve', this.fn.execve(path, [...argv, null], [...env, null]), path);
    throw new SyscallError('execve', 0, path); // unreachable: execve returns only on failure
  }
  prctl(option: number, arg2: number): void {
    this.check('prctl', this.fn.prctl(option, arg2, 0, 0, 0));
  }
  setCloexec(fd: number, enabled: boolean): void {
    const flags = this.check('fcntl', this.fn.fcntl(fd, F_GETFD, 0));
    this.check('fcntl', this.fn.fcntl(fd, F_SETFD, enabled ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC));
  }
  setNonblocking(fd: number, enabled: boolean): void {
    const flags = this.check('fcntl', this.fn.fcntl(fd, F_GETFL, 0));
    this.check('fcntl', this.fn.fcntl(fd, F_SETFL, enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK));
  }
  kill(pid: number, signal: number): void {
    this.check('kill', this.fn.kill(pid, signal), `pid ${pid}`);
  }
  pidfdOpen(pid: number): number {
    return this.check('pidfd_open', this.fn.syscallInt(this.numbers.pidfdOpen, pid, 0), `pid ${pid}`);
  }
  pidfdSendSignal(pidfd: number, signal: number): void {
    this.check('pidfd_send_signal', this.fn.syscall4(this.numbers.pidfdSendSignal, pidfd, signal, null, 0), `pidfd ${pidfd}`);
  }
  pollReadable(fd: number, timeoutMs: number): boolean {
    const fds = [{ fd, events: POLLIN, revents: 0 }];
    this.check('poll', this.fn.poll(fds, 1, timeoutMs), `fd ${fd}`);
    return (fds[0].revents & POLLIN) !== 0;
  }
  close(fd: number): void {
    this.check('close', this.fn.close(fd), `fd ${fd}`);
  }
  getpid(): number {
    return this.fn.getpid();
  }
  gettid(): number {
    return this.fn.syscallInt(this.numbers.gettid, 0, 0);
  }

  // --- warm starts
  dup2(oldfd: number, newfd: number): void {
    this.check('dup2', this.fn.dup2(oldfd, newfd), `fd ${oldfd} onto ${newfd}`);
  }
}

let instance: Sys | undefined;

/** The process-wide real Sys (koffi and libc are loaded on first use). */
export function linuxSys(): Sys {
  return (instance ??= new LinuxSys());
}
