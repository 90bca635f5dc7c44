/**
 * The one seam through which Tide talks to the kernel (the pattern of youki's `Syscall` trait): every
 * libc call the node runtime needs, behind an interface, so that callers can be tested with a
 * recording fake and only this package imports koffi.
 */

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWCGROUP = 0x02000000;

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;

export const MNT_DETACH = 0x2;

/** How a child ended (waitid's si_code and si_status): an exit code, or the number of the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: number | null;
}
export const SIGKILL = 9;
export const SIGTERM = 15;
export const PR_SET_NO_NEW_PRIVS = 38;
/** Orphaned descendants are re-parented to this process instead of the host's init (prctl(2)). */
export const PR_SET_CHILD_SUBREAPER = 36;

// Image store (issue 3): file types for mknod, flock operations.
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
// --- Identities, capabilities, sessions and terminals (issue 3, isolation) ---
/** unshare(CLONE_FS): the calling thread gets its own root, cwd and umask (setns(CLONE_NEWNS) needs that). */
export const CLONE_FS = 0x00000200;
export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;
export const TIOCSCTTY = 0x540e;
export const O_RDWR = 0o2;
export const O_NOCTTY = 0o400;
export const O_CLOEXEC = 0o2000000;
// --- Hardened containers (issue 14): seccomp, fds, the runtime's own binary.
export const PR_SET_DUMPABLE = 4;
/** close_range(2) flag: mark the range close-on-exec instead of closing it. */
export const CLOSE_RANGE_CLOEXEC = 0x4;
// --- Copying files in and out of a running container (issue 21): openat2(2) resolves a path with
// the container's root as "/", so neither ".." nor a symlink (absolute or relative) leads out of it.
/** open(2)'s O_PATH (the same on x86_64 and aarch64): a handle to walk from, not to read. */
export const O_PATH = 0o10000000;
export const AT_FDCWD = -100;
/** openat2's resolve flags (linux/openat2.h). */
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_IN_ROOT = 0x10;

/** The three capability sets of a thread, one bit per capability number (CAP_CHOWN = bit 0). */
export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

export interface WindowSize {
  rows: number;
  cols: number;
}

export interface Sys {
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  chdir(path: string): void;
  /** Replaces the process image; returns only by throwing. */
  execve(path: string, argv: string[], env: string[]): never;
  prctl(option: number, arg2: number): void;
  /** Sets or clears FD_CLOEXEC: a cleared fd survives execve, a set one closes on it. */
  setCloexec(fd: number, enabled: boolean): void;
  /** Sets or clears O_NONBLOCK (libuv hands children non-blocking socketpairs). */
  setNonblocking(fd: number, enabled: boolean): void;
  kill(pid: number, signal: number): void;
  /** A pidfd refers to one process for good: unlike a pid, it cannot be reused by another one. */
  pidfdOpen(pid: number): number;
  /** A copy of another process's fd (pidfd_getfd(2)), close-on-exec; needs ptrace access to it. */
  pidfdGetfd(pidfd: number, targetFd: number): number;
  /** Signals the process a pidfd refers to (pidfd_send_signal(2)); ESRCH once it has exited. */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** poll(2) on one fd for POLLIN; true when readable (for a pidfd: the process has exited). */
  pollReadable(fd: number, timeoutMs: number): boolean;
  /** One poll(2) over many fds, without waiting: those readable now (for pidfds: the processes that
   *  have exited). One syscall however many containers a node runs. */
  readableFds(fds: number[]): number[];
  /**
   * waitid(2) with WEXITED|WNOHANG on one child, named by its pidfd (`by: 'pidfd'`) or its pid: reaps
   * it and answers how it ended, or undefined while it still runs. ECHILD (a SyscallError) when it is
   * not a child of this process, or was reaped already.
   */
  reapChild(id: number, by: 'pidfd' | 'pid'): ChildExit | undefined;
  close(fd: number): void;
  getpid(): number;
  gettid(): number;

  // Image store (issue 3): overlay whiteouts are char devices 0/0, opaque dirs carry an xattr, and
  // agents sharing one image dir serialise commits and GC with flock.
  /** mknod(2): `mode` holds the file type (S_IFCHR, S_IFIFO) and permissions; dev = makedev(major, minor). */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): never follows a symlink. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2); undefined when the attribute is absent (ENODATA). */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** llistxattr(2): the attribute names of a file (not following a symlink). */
  llistxattr(path: string): string[];
  /** flock(2); with LOCK_NB, false instead of EWOULDBLOCK when another holder has it. */
  flock(fd: number, operation: number): boolean;
  // --- Identities, capabilities, sessions and terminals (issue 3, isolation) ---
  // All of these change the calling thread only, as the kernel's calls do: setres[ug]id and
  // setgroups are made as raw syscalls, not through glibc's wrappers, which give POSIX's per-process
  // semantics by signalling every other thread and waiting until each has changed too (Node has six
  // more: 0.2-0.5 ms per call on a busy machine, on a container start's path). Their callers are the
  // container and exec inits, whose next step is execve, which ends every other thread.
  // capset, prctl's capability calls and no_new_privs are per thread in the kernel anyway.
  setresuid(ruid: number, euid: number, suid: number): void;
  setresgid(rgid: number, egid: number, sgid: number): void;
  setgroups(gids: number[]): void;
  /** capget(2) of the calling thread (pid 0). */
  capget(): CapabilitySets;
  /** capset(2) on the calling thread (pid 0). */
  capset(sets: CapabilitySets): void;
  /** prctl(2) with the remaining arguments 0 (they are for the calls used here); returns its result. */
  prctlValue(option: number, arg2: number, arg3: number): number;
  /** Makes the caller a session leader (setsid(2)); returns the new session id. */
  setsid(): number;
  /** ioctl(2) with an integer argument (TIOCSCTTY). */
  ioctl(fd: number, request: number, arg: number): number;
  getWindowSize(fd: number): WindowSize;
  /** TIOCSWINSZ: the kernel sends SIGWINCH to the terminal's foreground process group. */
  setWindowSize(fd: number, size: WindowSize): void;
  grantpt(fd: number): void;
  unlockpt(fd: number): void;
  /** ptsname_r(3): the slave's path as seen where the master's devpts is mounted at /dev/pts. */
  ptsname(fd: number): string;
  /** pipe2(2) with O_CLOEXEC: [read end, write end]. */
  pipe(): [number, number];
  // --- warm starts: the init opens the container's log itself (a pooled init is spawned before the
  // log is known) and puts it on its stdout and stderr.
  /** dup2(2): newfd becomes a copy of oldfd, without FD_CLOEXEC (it survives execve). */
  dup2(oldfd: number, newfd: number): void;
  // --- Hardened containers (issue 14)
  /** seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) for the calling thread; `program` is an array of
   *  struct sock_filter (8 bytes each). Needs no_new_privs (or CAP_SYS_ADMIN). */
  seccompSetFilter(program: Buffer): void;
  /** close_range(2): closes (or, with CLOSE_RANGE_CLOEXEC, marks close-on-exec) fds first..last. */
  closeRange(first: number, last: number, flags: number): void;
  /** getcwd(2); "(unreachable)/..." when the cwd is outside the process's root. */
  getcwd(): string;
  // --- Copying files in and out of a running container (issue 21)
  /** openat2(2): `flags` and `mode` as open(2)'s, `resolve` the RESOLVE_* flags; returns the new fd. */
  openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number;
  // --- Density (issue 15): starting processes without copying the agent
  /**
   * posix_spawn(3): glibc starts the child with clone(CLONE_VM|CLONE_VFORK), so nothing of this
   * process is copied (a fork of an agent of 300 MB copies its page tables and makes every page it
   * then writes a copy-on-write fault). The child's fd i is a copy of `fds[i]` (null: /dev/null);
   * other fds are inherited only if not close-on-exec. Signals are unblocked and reset to their
   * defaults (Node ignores SIGPIPE), but for glibc's two internal ones (32, 33), which it leaves
   * ignored in the child. Returns the pid; the caller reaps it (reapChild).
   */
  spawn(path: string, argv: string[], env: string[], fds: (number | null)[], options?: { setsid?: boolean }): number;
  /** socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE): rtnetlink, in the calling thread's
   *  network namespace (a socket keeps the namespace it was made in). */
  routeNetlinkSocket(): number;
  /** send(2) of one whole datagram. */
  sendDatagram(fd: number, message: Buffer): void;
  /** recv(2) of one datagram into `buffer`; returns its length. */
  receiveDatagram(fd: number, buffer: Buffer): number;
}

export class SyscallError extends Error {
  /** The errno's symbolic name, e.g. "ESRCH", to compare against. */
  readonly code: string;
  constructor(
    readonly call: string,
    readonly errno: number,
    detail: string,
    /** strerror(3) text when the caller has it; the built-in table otherwise. */
    text?: string,
  ) {
    super(`${call}: ${errnoCode(errno)} ${text ?? errnoText(errno)} (${errno})${detail ? `: ${detail}` : ''}`);
    this.name = 'SyscallError';
    this.code = errnoCode(errno);
  }
}

const ERRNO: Record<number, [string, string]> = {
  1: ['EPERM', 'operation not permitted'], 2: ['ENOENT', 'no such file or directory'], 3: ['ESRCH', 'no such process'],
  4: ['EINTR', 'interrupted system call'], 9: ['EBADF', 'bad file descriptor'], 10: ['ECHILD', 'no child processes'], 11: ['EAGAIN', 'resource temporarily unavailable'],
  12: ['ENOMEM', 'cannot allocate memory'], 13: ['EACCES', 'permission denied'], 16: ['EBUSY', 'device or resource busy'],
  17: ['EEXIST', 'file exists'], 18: ['EXDEV', 'invalid cross-device link'], 19: ['ENODEV', 'no such device'], 20: ['ENOTDIR', 'not a directory'],
  22: ['EINVAL', 'invalid argument'], 24: ['EMFILE', 'too many open files'], 28: ['ENOSPC', 'no space left on device'],
  38: ['ENOSYS', 'function not implemented'], 39: ['ENOTEMPTY', 'directory not empty'], 61: ['ENODATA', 'no data available'], 40: ['ELOOP', 'too many levels of symbolic links'],
  21: ['EISDIR', 'is a directory'], 30: ['EROFS', 'read-only file system'], 95: ['EOPNOTSUPP', 'operation not supported'],
};

/** The symbolic name of an errno ("ENOENT"), or "errno N" for one outside the table. */
export function errnoCode(errno: number): string {
  return ERRNO[errno]?.[0] ?? `errno ${errno}`;
}

function errnoText(errno: number): string {
  return ERRNO[errno]?.[1] ?? 'unknown error';
}

/** "ENOENT no such file or directory". */
export function errnoName(errno: number): string {
  return `${errnoCode(errno)} ${errnoText(errno)}`;
}
