/*
 * The last steps before the user's program runs, all inside the container's root: its stdio, the
 * command found on its PATH, its working dir, its user and capabilities, no_new_privs and the seccomp
 * filter, all before "go", so that after "go" only a read and execve are left. None of it runs code
 * of the user's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

static const char DEFAULT_PATH[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/* Starts the console line on the status pipe (src/container/init.pipes.ts): failure text never does. */
static const char CONSOLE_MARK = '\x01';

/*
 * The main process's stdio for clients that attach to it (`docker run -i`, `-t`): a terminal of the
 * container's own devpts, as runc makes it (the slave becomes fds 0-2 and the controlling terminal;
 * tide-launch made this process a session leader), or a pipe on stdin (stdout and stderr stay the
 * log). The runtime's end (the master, or the pipe's writing end) stays open here, close-on-exec,
 * and its fd is named on the status pipe: the runtime copies it with pidfd_getfd before "go", so
 * that the user's process never holds it. Without either, stdin is the container's own /dev/null
 * (no fd of the workload refers to a host file but the log: the CVE-2024-21626 class).
 */
void open_stdio(const struct init_config *config) {
  step("openStdio");
  int runtime_end;
  if (config->flags & CONFIG_TTY) {
    runtime_end = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (runtime_end < 0) fail(errno, "open /dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(runtime_end, TIOCSPTLCK, &unlock) < 0) fail(errno, "unlock the terminal");
    int slave = ioctl(runtime_end, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) fail(errno, "open the terminal's slave");
    if (ioctl(slave, TIOCSCTTY, 0) < 0) fail(errno, "make the terminal the controlling one");
    for (int fd = 0; fd <= 2; fd++) {
      if (dup2(slave, fd) < 0) fail(errno, "dup2 the terminal to fd %d", fd);
    }
    close(slave);
  } else if (config->flags & CONFIG_STDIN_PIPE) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) < 0) fail(errno, "pipe for stdin");
    if (dup2(ends[0], 0) < 0) fail(errno, "dup2 the stdin pipe");
    close(ends[0]);
    runtime_end = ends[1];
  } else {
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0) fail(errno, "open /dev/null as stdin");
    close(null);
    return;
  }
  dprintf(STATUS_FD, "%c%d\n", CONSOLE_MARK, runtime_end);
}

/* argv[0] on the container's PATH (or as given, with a slash): the first regular executable file. */
static const char *find_executable(const char *command, char **env) {
  if (strchr(command, '/')) return command;
  const char *path = NULL;
  for (char **e = env; *e; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) {
      path = *e + 5;
      break;
    }
  }
  if (!path) path = DEFAULT_PATH;
  for (const char *dir = path;;) {
    const char *colon = strchrnul(dir, ':');
    char *candidate;
    if (asprintf(&candidate, "%.*s%s%s", (int)(colon - dir), dir, colon == dir ? "" : "/", command) < 0) fail(ENOMEM, "look %s up", command);
    struct stat st;
    if (access(candidate, X_OK) == 0 && stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) return candidate;
    free(candidate);
    if (*colon == '\0') break;
    dir = colon + 1;
  }
  fail(0, "executable \"%s\" not found in the image (PATH=%s)", command, path);
}

/* chdir, then a check that the working dir is inside the root: a path through a host fd that leaked
 * in (/proc/self/fd/N, CVE-2024-21626) would leave the process outside it, which getcwd reports as
 * "(unreachable)..." (glibc's getcwd then fails with ENOENT). */
static void enter_working_dir(const char *dir) {
  char cwd[PATH_MAX];
  if (chdir(dir) < 0) fail(errno, "chdir %s", dir);
  if (!getcwd(cwd, sizeof cwd)) {
    if (errno != ENOENT) fail(errno, "getcwd in %s", dir);
    cwd[0] = '\0'; /* glibc's answer to "(unreachable)..." */
  }
  if (cwd[0] != '/') fail(0, "working directory %s is outside the container's root", dir);
}

static int last_capability(void) {
  char text[16] = "";
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(errno, "open /proc/sys/kernel/cap_last_cap");
  read_full(fd, text, sizeof text - 1);
  close(fd);
  int last = atoi(text);
  if (last <= 0 || last > 63) fail(0, "/proc/sys/kernel/cap_last_cap says \"%s\"", text);
  return last;
}

/*
 * Becomes `user` with `keep`, the capabilities the agent gave (Docker's default set). The order is
 * forced by what each step needs (the same as src/init/capabilities.ts, which the exec init runs):
 * 1. setgroups, setresgid: changing groups needs CAP_SETGID, which a non-root uid no longer has once
 *    setresuid has run; so the groups change first, while the process is still uid 0.
 * 2. PR_CAPBSET_DROP of every capability outside the set: needs CAP_SETPCAP in the effective set,
 *    which a change to a non-zero uid clears; so before setresuid as well.
 * 3. PR_SET_KEEPCAPS, setresuid, keepcaps off: without keepcaps the kernel empties the permitted set
 *    when all uids leave 0, and capset could then not put anything back; with it, capset decides the
 *    sets for root and non-root alike (as runc does). Keepcaps cannot outlive this sequence.
 * 4. capset: effective = permitted = the set, inheritable empty (a non-empty inheritable set would
 *    let file-inheritable capabilities reach a non-root program: CVE-2022-24769). At execve the kernel
 *    then gives uid 0 its bounding set and any other uid nothing, as in Docker.
 * 5. Ambient cleared: the one way capabilities survive an execve into a non-root program.
 * 6. no_new_privs last: from here on no execve can add privileges (setuid binaries, file capabilities).
 */
static void drop_privileges(const struct process_user *user, uint64_t keep) {
  if (setgroups(user->group_count, user->groups) < 0) fail(errno, "setgroups");
  if (setresgid(user->gid, user->gid, user->gid) < 0) fail(errno, "setresgid %u", user->gid);
  for (int cap = 0, last = last_capability(); cap <= last; cap++) {
    if (!(keep >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) fail(errno, "drop capability %d from the bounding set", cap);
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_KEEPCAPS 1");
  if (setresuid(user->uid, user->uid, user->uid) < 0) fail(errno, "setresuid %u", user->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_KEEPCAPS 0");
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct sets[2] = {
      {.effective = (uint32_t)keep, .permitted = (uint32_t)keep, .inheritable = 0},
      {.effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32), .inheritable = 0},
  };
  if (syscall(SYS_capset, &header, sets) < 0) fail(errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) fail(errno, "clear the ambient capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_NO_NEW_PRIVS");
}

/*
 * Every lookup before the privileges drop (PATH and the working dir may be readable by root only);
 * then the identity, capabilities and filter. Answers the executable's path.
 */
const char *prepare_process(const struct init_config *config, const struct process_user *user) {
  step("prepareProcess");
  const char *executable = find_executable(config->argv[0], config->env);
  enter_working_dir(config->working_dir);
  /* Before the capabilities drop to the container's: from then on the container's root could open
   * this process's /proc/PID/{mem,root,fd}. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_DUMPABLE 0");
  drop_privileges(user, config->capabilities);
  /* Any fd above stdio (the pipes to the agent, a terminal's master) closes at execve. */
  if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0) fail(errno, "close_range");
  /* Last, and still before "go": what this process does from here on (read "go", write the trace,
   * execve) is all in the profile, and the install overlaps the agent's cgroup and state writes. */
  if (config->seccomp.len > 0 && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &config->seccomp) < 0) fail(errno, "install the seccomp filter");
  return executable;
}

/* Blocks until the agent's "go": it has put this process in the container's cgroup and recorded it.
 * EOF instead: the start is off, and nothing of the user's runs. */
void wait_for_go(void) {
  step("waitForGo");
  char go;
  if (read_full(CONTROL_FD, &go, 1) != 1) fail(0, "the agent went away before starting the container");
  close(CONTROL_FD);
}

void exec_command(const char *executable, const struct init_config *config) {
  step("execve");
  /* The one disposition this program changed (main.c); the user's process starts with every default. */
  signal(SIGPIPE, SIG_DFL);
  execve(executable, config->argv, config->env);
  fail(errno, "execve %s", executable);
}
