/*
 * tide-init: a container's init, in C. tide-launch clones it into fresh namespaces (PID 1 of its PID
 * namespace, its own mount namespace, already made private) and execs it as `tide-init STAGE_DIR`.
 * The steps, in order (main.c): stage /proc, /dev and /sys ahead of the container (stage.c), say it
 * is ready, read the container's config from the agent (config.c), build the root (root.c), take on
 * the user (user.c), its capabilities and seccomp filter (process.c), wait for "go" and execve.
 *
 * Everything the agent can compute is computed there (src/init/init.wire.ts): the overlay's options,
 * the capability mask, the seccomp program as BPF bytes. What is left needs the container's own
 * files: the user and the tty group from its /etc/passwd and /etc/group, the command on its PATH.
 */
#ifndef TIDE_INIT_H
#define TIDE_INIT_H

#include <limits.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The agent's pipes (src/init/init.config.ts says what each carries). */
enum { CONTROL_FD = 3, STATUS_FD = 4, REPORT_FD = 5 };

/* init_config.flags */
enum { CONFIG_READ_ONLY_ROOT = 1, CONFIG_TRACE = 2, CONFIG_STDIN_PIPE = 4, CONFIG_TTY = 8 };
/* bind_file.flags */
enum { BIND_DIRECTORY = 1, BIND_READ_ONLY = 2 };

struct bind_file {
  const char *source; /* on the host */
  const char *target; /* absolute, inside the container */
  unsigned flags;
};

/* The container, as the agent wrote it on CONTROL_FD. Strings point into the config's buffer. */
struct init_config {
  const char *hostname;
  const char *log_path;        /* host path: the container's stdout and stderr */
  const char *root;            /* host path of the overlay's mount point */
  const char *overlay_options; /* lowerdir=...,upperdir=...,workdir=... */
  const char *working_dir;
  const char *user;            /* "uid[:gid]" or "name[:group]"; "" is root */
  unsigned flags;
  uint64_t capabilities;       /* the mask kept: bounding, effective and permitted sets */
  char **argv;                 /* NULL-terminated */
  char **env;                  /* NULL-terminated; room for HOME added (user.c) */
  size_t bind_count;
  struct bind_file *binds;
  struct sock_fprog seccomp;   /* len 0: Unconfined */
};

/* The user a container process runs as, from the image's /etc/passwd and /etc/group. */
struct process_user {
  uid_t uid;
  gid_t gid;
  size_t group_count;
  gid_t *groups;    /* supplementary */
  const char *home; /* "/" without a passwd entry */
  long tty_gid;     /* the image's tty group, -1 when it has none (devpts' owner) */
};

/* report.c: each step names itself; a failure is one line on STATUS_FD naming the step, then exit 127. */
void step(const char *name);
__attribute__((noreturn, format(printf, 2, 3))) void fail(int err, const char *format, ...);
/* The agent is gone (it closed a pipe instead of writing): nobody is listening, exit quietly. */
__attribute__((noreturn)) void agent_gone(void);
void mark(const char *what);
void send_marks(void);
/* Reads exactly `size` bytes unless EOF comes first; answers how many it read. */
size_t read_full(int fd, void *buffer, size_t size);
void write_full(int fd, const void *buffer, size_t size);

/* config.c */
void read_config(struct init_config *config);

/* stage.c */
struct stage {
  const char *dir;
  int sys_mounted; /* sysfs may be refused */
};
void prepare_stage(struct stage *stage);

/* root.c */
void prepare_root(const struct init_config *config, const struct stage *stage);
void mount_devpts(const struct process_user *user);

/* user.c */
void resolve_user(const char *spec, struct process_user *user);
void add_home(struct init_config *config, const struct process_user *user);

/* process.c */
void open_stdio(const struct init_config *config);
const char *prepare_process(const struct init_config *config, const struct process_user *user);
void wait_for_go(void);
__attribute__((noreturn)) void exec_command(const char *executable, const struct init_config *config);

#endif
