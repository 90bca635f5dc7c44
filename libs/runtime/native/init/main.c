/*
 * tide-init STAGE_DIR: the container's init (init.h says what each file does). Started by tide-launch
 * inside fresh PID, mount, UTS and IPC namespaces (and a network one for bridge networking), it is
 * PID 1 of its namespace. It stages /proc, /dev and /sys, says it is ready and waits for the
 * container's config: at once for a cold start, for as long as it stays in the warm pool otherwise.
 * Then it builds the root, takes on the container's user and capabilities, waits until the agent has
 * put it in its cgroup ("go") and execs the user's command, which thereby becomes PID 1.
 *
 * Its fds (src/init/init.config.ts): 3 the control pipe (config, then "go"), 4 the status pipe
 * (close-on-exec: EOF tells the agent execve happened; a line of text, that the start failed), 5 the
 * report pipe (the ready byte, a traced start's marks). Stdio: fds 0-2 of the launcher's spawn, until
 * the log and the container's own /dev/null (or terminal) replace them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "init.h"

static const char READY_BYTE = 'r';

/* Only tide-launch starts this program, with the agent's pipes on fds 3-5; run any other way (a
 * container whose command is /proc/self/exe, say), it says so on stderr and stops. */
static void check_pipes(void) {
  for (int fd = CONTROL_FD; fd <= REPORT_FD; fd++) {
    if (fcntl(fd, F_GETFD) < 0) {
      dprintf(2, "tide-init: fd %d is not open: this is a container's init, started only by tide-launch\n", fd);
      _exit(127);
    }
  }
}

/* The container's stdout and stderr: its log file, opened before pivot_root hides the host's paths.
 * A file, not a pipe: the container keeps writing its log while no agent runs. */
static void redirect_output(const char *log_path) {
  step("openLog");
  int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail(errno, "open the log %s", log_path);
  if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) fail(errno, "dup2 the log");
  close(fd);
}

/*
 * Waiting in the pool, the init must die with the agent: PR_SET_PDEATHSIG fires when the parent
 * THREAD exits, here the agent's thread that spawned the launcher (which cloned this process as its
 * parent's child), so when the agent dies. Set first thing, so that it covers the staging as well;
 * read_config clears it once claimed.
 */
int main(int argc, char **argv) {
  mark("init: exec'd by the launcher");
  check_pipes();
  if (argc != 2) fail(0, "usage: tide-init STAGE_DIR");
  if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) < 0) fail(errno, "fcntl fd %d", STATUS_FD);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_PDEATHSIG");
  /* A write to a pipe the agent closed answers EPIPE instead of killing: the agent is gone. */
  signal(SIGPIPE, SIG_IGN);

  struct stage stage = {.dir = argv[1]};
  prepare_stage(&stage);
  mark("init: /proc, /dev, /sys staged");
  if (write(REPORT_FD, &READY_BYTE, 1) != 1) agent_gone();
  mark("init: ready sent");

  struct init_config config;
  read_config(&config);
  mark("init: config read");
  /* Open until the marks are sent, never across execve. */
  if (config.flags & CONFIG_TRACE) fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
  else close(REPORT_FD);

  redirect_output(config.log_path);
  prepare_root(&config, &stage);
  struct process_user user;
  resolve_user(config.user, &user);
  add_home(&config, &user);
  mount_devpts(&user);
  open_stdio(&config);
  mark("init: root built (overlay, pivot_root, user looked up, devpts, stdio)");
  const char *executable = prepare_process(&config, &user);
  mark("init: user, capabilities, no_new_privs, seccomp set");
  wait_for_go();
  mark("init: go received");
  if (config.flags & CONFIG_TRACE) {
    mark("init: execve next");
    send_marks();
  }
  exec_command(executable, &config);
}
