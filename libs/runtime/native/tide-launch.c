/*
 * tide-launch: starts a container's init in fresh namespaces without forking the agent.
 *
 * The agent (a Node process of 100-400 MB) posix_spawns this small program, which glibc does with
 * clone(CLONE_VM|CLONE_VFORK): nothing of the agent is copied. A fork of the agent copied its page
 * tables and made it take a copy-on-write fault for every page it wrote until the child exec'd; at
 * 1,000 starts that was most of the node's kernel time (docs/BENCHMARKS.md, density).
 *
 *   tide-launch NAMESPACE_FLAGS INIT STAGE_DIR
 *
 * Inherited fds: 3 the init's control pipe, 4 its status pipe (exec verdict), 5 the report pipe.
 * This program clones the init with CLONE_PARENT, so that the init is the agent's child (the agent
 * reaps it through its pidfd, and the init's PR_SET_PDEATHSIG follows the agent's thread), writes
 * "<pid>\n" to fd 5 and exits. The init becomes a session leader, makes its mount namespace's
 * mounts private, binds the init binary (tide-init, init/main.c) read-only over itself and execs
 * `INIT STAGE_DIR` from that mount with an empty environment and every signal at its default: a
 * container whose command is /proc/self/exe reaches a read-only file (isolation/sealed.binary.ts says
 * why: the CVE-2019-5736 class). A failure of either is written to fd 4 as one line and ends it with
 * 127: the agent's start fails with that text, as for a failed exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { CONTROL_FD = 3, STATUS_FD = 4, REPORT_FD = 5 };

static void fail(const char *what, const char *detail) {
  dprintf(STATUS_FD, "tide-launch: %s%s%s: %s", what, detail ? " " : "", detail ? detail : "", strerror(errno));
  _exit(127);
}

/* Runs in the init's namespaces, before exec: only async-signal-safe calls (this is a raw clone). */
static void become_init(int proceed, char *init, char *stage) {
  char byte;
  /* The pid is reported before the init can write anything to the same pipe. */
  while (read(proceed, &byte, 1) < 0 && errno == EINTR) {
  }
  close(proceed);
  /* Its own session, as its detached spawn gave it before: a container with a terminal makes it its
   * controlling terminal (TIOCSCTTY), which only a session leader may. */
  if (setsid() < 0) fail("setsid", NULL);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount --make-rprivate", "/");
  if (mount(init, init, NULL, MS_BIND, NULL) < 0) fail("bind", init);
  if (mount(NULL, init, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) fail("remount read-only", init);
  /* glibc's posix_spawn leaves its two internal signals ignored; nothing of the agent's may last,
   * its signal mask neither: the user's command inherits both through the init. */
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  char *argv[] = {init, stage, NULL};
  char *envp[] = {NULL};
  execve(init, argv, envp);
  fail("execve", init);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    dprintf(STATUS_FD, "tide-launch: usage: tide-launch NAMESPACE_FLAGS INIT STAGE_DIR");
    return 127;
  }
  char *end;
  errno = 0;
  unsigned long namespaces = strtoul(argv[1], &end, 10);
  if (errno != 0 || *end != '\0' || !(namespaces & CLONE_NEWNS) || !(namespaces & CLONE_NEWPID)) {
    errno = EINVAL; /* the bind below must never land in the host's mount namespace */
    fail("namespace flags without CLONE_NEWNS and CLONE_NEWPID:", argv[1]);
  }
  int proceed[2];
  if (pipe2(proceed, O_CLOEXEC) < 0) fail("pipe2", NULL);
  /* A fork-like clone (no CLONE_VM): this process is small, and the child gets its own stack. */
  long pid = syscall(SYS_clone, CLONE_PARENT | namespaces | SIGCHLD, 0, NULL, NULL, 0);
  if (pid < 0) fail("clone", NULL);
  if (pid == 0) {
    close(proceed[1]);
    become_init(proceed[0], argv[2], argv[3]);
  }
  dprintf(REPORT_FD, "%ld\n", pid);
  close(proceed[1]);
  return 0;
}
