/**
 * Tide's default seccomp profile: Docker's default profile (moby profiles/seccomp/default.json) as it
 * applies to a container with Docker's default capabilities, which is what every Tide container has.
 * It is an allowlist: any call not named here fails with EPERM, as in Docker. Among those refused:
 * unshare, setns, mount, umount2, pivot_root, the new mount API (fsopen, move_mount, ...), keyctl,
 * add_key, request_key, bpf, perf_event_open, io_uring_setup/enter/register, userfaultfd, kexec_*,
 * *_module, reboot, swapon, acct, settimeofday, clock_settime, open_by_handle_at, pidfd_getfd, kcmp.
 * Docker allows several of these to a container that has CAP_SYS_ADMIN (or another capability);
 * Tide never grants those, so the conditional groups reduce to "refused".
 */

/** Allowed on every architecture that has them (names an architecture lacks are skipped). */
export const ALLOWED_SYSCALLS: readonly string[] = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32 chroot
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2
fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get
ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2
mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe
pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
process_mrelease process_vm_readv process_vm_writev pselect6 pselect6_time64 ptrace pwrite64 pwritev pwritev2
read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile
sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32
setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid
setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr
shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair
splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate
truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4
waitid waitpid write writev
`.trim().split(/\s+/);

/** Allowed on one architecture only (Docker's "arches" groups). */
export const ARCH_ALLOWED_SYSCALLS: Readonly<Record<string, readonly string[]>> = {
  x64: ['arch_prctl', 'modify_ldt'],
  arm64: [],
};

/** clone's namespace flags (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET): Docker's mask. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;
const AF_VSOCK = 40;
/** personality(2) values Docker allows: PER_LINUX, UNAME26, PER_LINUX|ADDR_NO_RANDOMIZE (and with
 *  UNAME26), and 0xffffffff (a query). */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** A call allowed only for some arguments (the argument's low 32 bits; high ones as noted); EPERM otherwise. */
export type ArgumentRule =
  /** Allowed when (arg & mask) == 0. */
  | { kind: 'maskedZero'; arg: number; mask: number }
  /** Allowed when the whole 64-bit argument equals one of the values (all below 2^32). */
  | { kind: 'oneOf'; arg: number; values: readonly number[] }
  /** Allowed unless the argument's low 32 bits equal value (the kernel reads an int). */
  | { kind: 'notEqual'; arg: number; value: number };

export const ARGUMENT_RULES: Readonly<Record<string, ArgumentRule>> = {
  // Threads and processes, but no new namespaces (a user namespace would bring back every capability).
  clone: { kind: 'maskedZero', arg: 0, mask: CLONE_NAMESPACE_FLAGS },
  personality: { kind: 'oneOf', arg: 0, values: PERSONALITIES },
  socket: { kind: 'notEqual', arg: 0, value: AF_VSOCK },
};

/** clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes libc fall back to
 *  clone, whose flags the rule above checks (as Docker does). */
export const ENOSYS_SYSCALLS: readonly string[] = ['clone3'];
