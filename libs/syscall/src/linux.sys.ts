/** The real Sys: koffi calls into glibc. Loaded lazily so that importing this package costs nothing. */
import koffi from 'koffi';
import { CapabilitySets, ChildExit, O_CLOEXEC, O_RDWR, Sys, SyscallError, WindowSize } from './sys';

/** x86_64 and aarch64 syscall numbers for calls glibc has no wrapper for, or whose wrapper does more
 *  than the call (setresuid, setresgid, setgroups: sys.ts says why). */
const SYSCALL_NUMBERS: Record<string, {
  pidfdOpen: number; openat2: number; pidfdSendSignal: number; pidfdGetfd: number; gettid: number; capget: number; capset: number; seccomp: number; closeRange: number;
  setresuid: number; setresgid: number; setgroups: number;
}> = {
  x64: { pidfdOpen: 434, openat2: 437, pidfdSendSignal: 424, pidfdGetfd: 438, gettid: 186, capget: 125, capset: 126, seccomp: 317, closeRange: 436, setresuid: 117, setresgid: 119, setgroups: 116 },
  arm64: { pidfdOpen: 434, openat2: 437, pidfdSendSignal: 424, pidfdGetfd: 438, gettid: 178, capget: 90, capset: 91, seccomp: 277, closeRange: 436, setresuid: 147, setresgid: 149, setgroups: 159 },
};
const SECCOMP_SET_MODE_FILTER = 1;

const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = 0o4000;
const POLLIN = 0x1;
// waitid(2): idtype_t values, options, and siginfo_t's layout on x86_64 and aarch64 (si_code at 8,
// si_pid at 16, si_status at 24; the struct is 128 bytes).
const P_PID = 1;
const P_PIDFD = 3;
const WEXITED = 4;
const WNOHANG = 1;
const CLD_EXITED = 1;
const SIGINFO_SIZE = 128;
const ENODATA = 61;
const EINTR = 4;
const EWOULDBLOCK = 11;
/** Large enough for any xattr the image store reads (overlay's are a few bytes; the kernel caps at 64 KiB). */
const XATTR_MAX = 65536;
/** _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set, for capabilities 0-63. */
const CAPABILITY_VERSION_3 = 0x20080522;
const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;
// posix_spawn(3): glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336 on
// 64-bit Linux, sigset_t 128; the buffers leave room. Flags from glibc's spawn.h.
const SPAWN_ACTIONS_SIZE = 256;
const SPAWN_ATTR_SIZE = 1024;
const SIGSET_SIZE = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;

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
      chdir: declare('int chdir(const char *path)'),
      execve: declare('int execve(const char *path, const char **argv, const char **envp)'),
      prctl: declare('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
      fcntl: declare('int fcntl(int fd, int cmd, int arg)'),
      kill: declare('int kill(int pid, int sig)'),
      getpid: declare('int getpid()'),
      close: declare('int close(int fd)'),
      poll: declare('int poll(_Inout_ PollFd *fds, unsigned long nfds, int timeout)'),
      // Exit tracking without a thread per container (issue 15).
      waitid: declare('int waitid(int idtype, uint32_t id, void *infop, int options)'),
      strerror: declare('const char *strerror(int errnum)') as unknown as Fn,
      syscallInt: declare('long syscall(long number, long a, long b)'),
      syscall4: declare('long syscall(long number, long a, long b, void *c, long d)'),
      // Image store (issue 3).
      mknod: declare('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
      lsetxattr: declare('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
      lgetxattr: declare('long lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
      llistxattr: declare('long llistxattr(const char *path, _Out_ void *list, size_t size)'),
      flock: declare('int flock(int fd, int operation)'),
      // Identities, capabilities, sessions and terminals (issue 3, isolation). Buffers are passed
      // as void * so that the kernel writes straight into their memory.
      syscallIds: declare('long syscall(long number, long a, long b, long c)'),
      syscallSizeBuffer: declare('long syscall(long number, long size, void *list)'),
      syscallBuffers: declare('long syscall(long number, void *a, void *b)'),
      setsid: declare('int setsid()'),
      ioctlInt: declare('int ioctl(int fd, unsigned long request, long arg)'),
      ioctlBuffer: declare('int ioctl(int fd, unsigned long request, void *arg)'),
      grantpt: declare('int grantpt(int fd)'),
      unlockpt: declare('int unlockpt(int fd)'),
      ptsname_r: declare('int ptsname_r(int fd, void *buf, size_t buflen)'),
      pipe2: declare('int pipe2(void *fds, int flags)'),
      // Warm starts (issue 3).
      dup2: declare('int dup2(int oldfd, int newfd)'),
      // Hardened containers (issue 14).
      syscallPointer: declare('long syscall(long number, long a, long b, void *c)'),
      syscallRange: declare('long syscall(long number, unsigned int a, unsigned int b, unsigned int c)'),
      getcwd: declare('const char *getcwd(void *buf, size_t size)') as unknown as Fn,
      // Copying files in and out of a container (issue 21).
      syscallOpenat2: declare('long syscall(long number, int dirfd, const char *path, void *how, size_t size)'),
      // Starting processes without copying the agent (issue 15). glibc's opaque structs as buffers.
      posixSpawn: declare('int posix_spawn(void *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)'),
      actionsInit: declare('int posix_spawn_file_actions_init(void *actions)'),
      actionsDup2: declare('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
      actionsOpen: declare('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)'),
      actionsClose: declare('int posix_spawn_file_actions_addclose(void *actions, int fd)'),
      actionsDestroy: declare('int posix_spawn_file_actions_destroy(void *actions)'),
      attrInit: declare('int posix_spawnattr_init(void *attr)'),
      attrSetFlags: declare('int posix_spawnattr_setflags(void *attr, short flags)'),
      attrSetSigmask: declare('int posix_spawnattr_setsigmask(void *attr, void *set)'),
      attrSetSigdefault: declare('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
      attrDestroy: declare('int posix_spawnattr_destroy(void *attr)'),
      sigemptyset: declare('int sigemptyset(void *set)'),
      sigfillset: declare('int sigfillset(void *set)'),
      // Veths by rtnetlink rather than by `ip` (issue 15).
      socket: declare('int socket(int domain, int type, int protocol)'),
      send: declare('long send(int fd, const void *buffer, size_t length, int flags)'),
      recv: declare('long recv(int fd, _Out_ void *buffer, size_t length, int flags)'),
    };
  }

  /** A call interrupted by a signal (EINTR) is made again. */
  private retryInterrupted(call: string, run: () => number, detail: string): number {
    for (;;) {
      const result = run();
      if (result >= 0 || koffi.errno() !== EINTR) return this.check(call, result, detail);
    }
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
  pidfdGetfd(pidfd: number, targetFd: number): number {
    return this.check('pidfd_getfd', this.fn.syscall4(this.numbers.pidfdGetfd, pidfd, targetFd, null, 0), `fd ${targetFd} of pidfd ${pidfd}`);
  }
  pidfdSendSignal(pidfd: number, signal: number): void {
    this.check('pidfd_send_signal', this.fn.syscall4(this.numbers.pidfdSendSignal, pidfd, signal, null, 0), `pidfd ${pidfd}`);
  }
  pollReadable(fd: number, timeoutMs: number): boolean {
    const fds = [{ fd, events: POLLIN, revents: 0 }];
    this.check('poll', this.fn.poll(fds, 1, timeoutMs), `fd ${fd}`);
    return (fds[0].revents & POLLIN) !== 0;
  }
  readableFds(fds: number[]): number[] {
    if (fds.length === 0) return [];
    const polled = fds.map((fd) => ({ fd, events: POLLIN, revents: 0 }));
    // A signal (SIGCHLD, in a storm of exits) may interrupt even a poll that does not wait.
    this.retryInterrupted('poll', () => this.fn.poll(polled, polled.length, 0), `${fds.length} fds`);
    return polled.filter((p) => (p.revents & POLLIN) !== 0).map((p) => p.fd);
  }
  reapChild(id: number, by: 'pidfd' | 'pid'): ChildExit | undefined {
    const info = Buffer.alloc(SIGINFO_SIZE); // zeroed: si_pid stays 0 when WNOHANG finds nothing yet
    this.retryInterrupted('waitid', () => this.fn.waitid(by === 'pidfd' ? P_PIDFD : P_PID, id, info, WEXITED | WNOHANG), `${by} ${id}`);
    if (info.readInt32LE(16) === 0) return undefined;
    const status = info.readInt32LE(24);
    return info.readInt32LE(8) === CLD_EXITED ? { code: status, signal: null } : { code: null, signal: status };
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

  // Image store (issue 3).
  mknod(path: string, mode: number, major: number, minor: number): void {
    this.check('mknod', this.fn.mknod(path, mode, makedev(major, minor)), path);
  }
  lsetxattr(path: string, name: string, value: Buffer): void {
    this.check('lsetxattr', this.fn.lsetxattr(path, name, value, value.length, 0), `${name} on ${path}`);
  }
  lgetxattr(path: string, name: string): Buffer | undefined {
    const buffer = Buffer.alloc(XATTR_MAX);
    const size = Number(this.fn.lgetxattr(path, name, buffer, buffer.length));
    if (size < 0 && koffi.errno() === ENODATA) return undefined;
    return buffer.subarray(0, this.check('lgetxattr', size, `${name} on ${path}`));
  }
  llistxattr(path: string): string[] {
    const buffer = Buffer.alloc(XATTR_MAX);
    const size = this.check('llistxattr', Number(this.fn.llistxattr(path, buffer, buffer.length)), path);
    return buffer.subarray(0, size).toString('utf8').split('\0').filter(Boolean);
  }
  flock(fd: number, operation: number): boolean {
    const result = this.fn.flock(fd, operation);
    if (result < 0 && koffi.errno() === EWOULDBLOCK) return false;
    this.check('flock', result, `fd ${fd}`);
    return true;
  }

  // --- Identities, capabilities, sessions and terminals (issue 3, isolation) ---
  setresuid(ruid: number, euid: number, suid: number): void {
    this.check('setresuid', this.fn.syscallIds(this.numbers.setresuid, ruid, euid, suid), `uid ${euid}`);
  }
  setresgid(rgid: number, egid: number, sgid: number): void {
    this.check('setresgid', this.fn.syscallIds(this.numbers.setresgid, rgid, egid, sgid), `gid ${egid}`);
  }
  setgroups(gids: number[]): void {
    const list = Buffer.alloc(Math.max(1, gids.length) * 4);
    gids.forEach((gid, i) => list.writeUInt32LE(gid, i * 4));
    this.check('setgroups', this.fn.syscallSizeBuffer(this.numbers.setgroups, gids.length, list), gids.join(','));
  }
  capget(): CapabilitySets {
    const header = capHeader();
    const data = Buffer.alloc(24);
    this.check('capget', this.fn.syscallBuffers(this.numbers.capget, header, data));
    // struct __user_cap_data_struct[2] { u32 effective, permitted, inheritable }: low words, then high.
    const word = (set: number) => BigInt(data.readUInt32LE(set * 4)) | (BigInt(data.readUInt32LE(12 + set * 4)) << 32n);
    return { effective: word(0), permitted: word(1), inheritable: word(2) };
  }
  capset(sets: CapabilitySets): void {
    const data = Buffer.alloc(24);
    [sets.effective, sets.permitted, sets.inheritable].forEach((set, i) => {
      data.writeUInt32LE(Number(set & 0xffffffffn), i * 4);
      data.writeUInt32LE(Number((set >> 32n) & 0xffffffffn), 12 + i * 4);
    });
    this.check('capset', this.fn.syscallBuffers(this.numbers.capset, capHeader(), data));
  }
  prctlValue(option: number, arg2: number, arg3: number): number {
    return this.check('prctl', this.fn.prctl(option, arg2, arg3, 0, 0), `option ${option}`);
  }
  setsid(): number {
    return this.check('setsid', this.fn.setsid());
  }
  ioctl(fd: number, request: number, arg: number): number {
    return this.check('ioctl', this.fn.ioctlInt(fd, request, arg), `fd ${fd}, request 0x${request.toString(16)}`);
  }
  getWindowSize(fd: number): WindowSize {
    const winsize = Buffer.alloc(8); // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel }
    this.check('ioctl', this.fn.ioctlBuffer(fd, TIOCGWINSZ, winsize), `TIOCGWINSZ fd ${fd}`);
    return { rows: winsize.readUInt16LE(0), cols: winsize.readUInt16LE(2) };
  }
  setWindowSize(fd: number, size: WindowSize): void {
    const winsize = Buffer.alloc(8);
    winsize.writeUInt16LE(size.rows, 0);
    winsize.writeUInt16LE(size.cols, 2);
    this.check('ioctl', this.fn.ioctlBuffer(fd, TIOCSWINSZ, winsize), `TIOCSWINSZ fd ${fd}`);
  }
  grantpt(fd: number): void {
    this.check('grantpt', this.fn.grantpt(fd), `fd ${fd}`);
  }
  unlockpt(fd: number): void {
    this.check('unlockpt', this.fn.unlockpt(fd), `fd ${fd}`);
  }
  ptsname(fd: number): string {
    const buf = Buffer.alloc(128);
    // ptsname_r returns the error number itself instead of setting errno.
    const error = this.fn.ptsname_r(fd, buf, buf.length);
    if (error !== 0) throw new SyscallError('ptsname_r', error, `fd ${fd}`);
    return buf.toString('utf8', 0, buf.indexOf(0));
  }
  pipe(): [number, number] {
    const fds = Buffer.alloc(8);
    this.check('pipe2', this.fn.pipe2(fds, O_CLOEXEC));
    return [fds.readInt32LE(0), fds.readInt32LE(4)];
  }

  // --- Warm starts (issue 3): the claimed init puts its log on stdout and stderr.
  dup2(oldfd: number, newfd: number): void {
    this.check('dup2', this.fn.dup2(oldfd, newfd), `fd ${oldfd} onto ${newfd}`);
  }

  // --- Hardened containers (issue 14)
  seccompSetFilter(program: Buffer): void {
    // struct sock_fprog { unsigned short len; struct sock_filter *filter }: the pointer at offset 8.
    const fprog = Buffer.alloc(16);
    fprog.writeUInt16LE(program.length / 8, 0);
    fprog.writeBigUInt64LE(koffi.address(program), 8);
    this.check('seccomp', this.fn.syscallPointer(this.numbers.seccomp, SECCOMP_SET_MODE_FILTER, 0, fprog), `${program.length / 8} instructions`);
  }
  closeRange(first: number, last: number, flags: number): void {
    this.check('close_range', this.fn.syscallRange(this.numbers.closeRange, first, last >>> 0, flags), `fds ${first}-${last}`);
  }
  getcwd(): string {
    const cwd = this.fn.getcwd(Buffer.alloc(4097), 4097) as unknown as string | null;
    if (cwd === null) this.check('getcwd', -1);
    return cwd!;
  }

  // --- Copying files in and out of a container (issue 21)
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    const how = Buffer.alloc(24);
    how.writeBigUInt64LE(BigInt(flags), 0);
    how.writeBigUInt64LE(BigInt(mode), 8);
    how.writeBigUInt64LE(BigInt(resolve), 16);
    return this.retryInterrupted('openat2', () => Number(this.fn.syscallOpenat2(this.numbers.openat2, dirfd, path, how, how.length)), path);
  }

  // --- Density (issue 15)
  routeNetlinkSocket(): number {
    return this.check('socket', this.fn.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), 'netlink route');
  }
  sendDatagram(fd: number, message: Buffer): void {
    const sent = this.retryInterrupted('send', () => Number(this.fn.send(fd, message, message.length, 0)), `fd ${fd}`);
    if (sent !== message.length) throw new SyscallError('send', 0, `fd ${fd}: ${sent} of ${message.length} bytes`);
  }
  receiveDatagram(fd: number, buffer: Buffer): number {
    return this.retryInterrupted('recv', () => Number(this.fn.recv(fd, buffer, buffer.length, 0)), `fd ${fd}`);
  }
  spawn(path: string, argv: string[], env: string[], fds: (number | null)[], options: { setsid?: boolean } = {}): number {
    const actions = Buffer.alloc(SPAWN_ACTIONS_SIZE);
    const attr = Buffer.alloc(SPAWN_ATTR_SIZE);
    const spawnError = (call: string, error: number) => {
      if (error !== 0) throw new SyscallError(call, error, path, String(this.fn.strerror(error)).toLowerCase());
    };
    spawnError('posix_spawn_file_actions_init', this.fn.actionsInit(actions));
    spawnError('posix_spawnattr_init', this.fn.attrInit(attr));
    try {
      // Every source first goes to a temporary fd above all of them, then onto its place: a source
      // that is itself one of the targets (fd 4 wanted as 3, while 3 is wanted as 4) is never
      // overwritten before it was copied.
      const above = Math.max(fds.length, ...fds.map((fd) => fd ?? 0)) + 1;
      fds.forEach((fd, i) => fd !== null && spawnError('posix_spawn_file_actions_adddup2', this.fn.actionsDup2(actions, fd, above + i)));
      fds.forEach((fd, i) => {
        if (fd === null) spawnError('posix_spawn_file_actions_addopen', this.fn.actionsOpen(actions, i, '/dev/null', O_RDWR, 0));
        else spawnError('posix_spawn_file_actions_adddup2', this.fn.actionsDup2(actions, above + i, i));
      });
      fds.forEach((fd, i) => fd !== null && spawnError('posix_spawn_file_actions_addclose', this.fn.actionsClose(actions, above + i)));
      const none = Buffer.alloc(SIGSET_SIZE);
      const all = Buffer.alloc(SIGSET_SIZE);
      this.fn.sigemptyset(none);
      this.fn.sigfillset(all);
      spawnError('posix_spawnattr_setsigmask', this.fn.attrSetSigmask(attr, none));
      spawnError('posix_spawnattr_setsigdefault', this.fn.attrSetSigdefault(attr, all));
      const flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (options.setsid ? POSIX_SPAWN_SETSID : 0);
      spawnError('posix_spawnattr_setflags', this.fn.attrSetFlags(attr, flags));
      const pid = Buffer.alloc(4);
      spawnError('posix_spawn', this.fn.posixSpawn(pid, path, actions, attr, [...argv, null], [...env, null]));
      return pid.readInt32LE(0);
    } finally {
      this.fn.actionsDestroy(actions);
      this.fn.attrDestroy(attr);
    }
  }
}

/** glibc's makedev: the device number layout of Linux's 64-bit dev_t. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** struct __user_cap_header_struct { u32 version; int pid } for the calling thread (pid 0). */
function capHeader(): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(CAPABILITY_VERSION_3, 0);
  return header;
}

let instance: Sys | undefined;

/** The process-wide real Sys (koffi and libc are loaded on first use). */
export function linuxSys(): Sys {
  return (instance ??= new LinuxSys());
}
