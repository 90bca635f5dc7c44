/*
 * The steps that need no container: a pooled init runs them before it waits, a cold one at once.
 * They mount /proc, /dev and /sys, with their masks, under the stage directory, covered by a tmpfs
 * of this mount namespace alone; root.c moves them into the container's root at claim.
 *
 * The order is the point; each step relies on the ones before it:
 * 1. (done by tide-launch before it exec'd this program) "/" recursively private: no mount made
 *    here propagates back to the host, and pivot_root and MS_MOVE refuse shared mounts.
 * 2. mountStage: a tmpfs over the stage directory, in this namespace only: mount points for the rest.
 * 3. mountProc: this process is PID 1 of the new PID namespace, so a proc mounted now shows the
 *    container's processes only.
 * 4. mountDev, mountMqueue, mountSys: while the host's /dev is reachable to bind devices. mqueue shows
 *    the queues of the IPC namespace the init is in, the container's.
 * 5. maskPaths, readOnlyPaths: over the proc and sysfs just mounted, so they come after them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "init.h"

/* Host devices that are safe to share: they carry no state of the host. */
static const char *const CONTAINER_DEVICES[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* Hidden from the container (the OCI runtime defaults of runc and containerd): kernel memory, keys,
 * timers and firmware that would leak the host's state. Files get /dev/null, directories an empty
 * read-only tmpfs; what this kernel does not have is skipped. */
static const char *const MASKED_PATHS[] = {
    "proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats", "proc/timer_list",
    "proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap",
};

/* Readable but not writable from the container (OCI defaults): kernel tunables and triggers. */
static const char *const READONLY_PATHS[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
static const unsigned long PROC_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/* The stage's path of `format`, failing the step if it does not fit. */
__attribute__((format(printf, 3, 4))) static const char *in_stage(char path[PATH_MAX], const struct stage *stage, const char *format, ...) {
  char relative[PATH_MAX];
  va_list args;
  va_start(args, format);
  vsnprintf(relative, sizeof relative, format, args);
  va_end(args);
  if (snprintf(path, PATH_MAX, "%s/%s", stage->dir, relative) >= PATH_MAX) fail(0, "%s/%s is too long a path", stage->dir, relative);
  return path;
}

static void do_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data) {
  if (mount(source, target, fstype, flags, data) < 0) fail(errno, "mount %s on %s", source ? source : "(remount)", target);
}

static const char *make_dir(const char *path) {
  if (mkdir(path, 0755) < 0 && errno != EEXIST) fail(errno, "mkdir %s", path);
  return path;
}

static void mount_proc(const struct stage *stage) {
  char path[PATH_MAX];
  do_mount("proc", make_dir(in_stage(path, stage, "proc")), "proc", PROC_FLAGS, NULL);
}

/* A minimal /dev: a tmpfs with the harmless host devices bind-mounted in, /dev/shm, the fd links, and
 * the mount point of the container's devpts with /dev/ptmx pointing into it (root.c mounts it). */
static void mount_dev(const struct stage *stage) {
  char path[PATH_MAX], host[64];
  do_mount("tmpfs", make_dir(in_stage(path, stage, "dev")), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=65536k");
  for (size_t i = 0; i < COUNT(CONTAINER_DEVICES); i++) {
    in_stage(path, stage, "dev/%s", CONTAINER_DEVICES[i]);
    snprintf(host, sizeof host, "/dev/%s", CONTAINER_DEVICES[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644); /* a bind needs an existing file as its target */
    if (fd < 0) fail(errno, "create %s", path);
    close(fd);
    do_mount(host, path, NULL, MS_BIND, NULL);
  }
  do_mount("shm", make_dir(in_stage(path, stage, "dev/shm")), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  static const char *const links[][2] = {
      {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
  };
  for (size_t i = 0; i < COUNT(links); i++) {
    if (symlink(links[i][1], in_stage(path, stage, "dev/%s", links[i][0])) < 0) fail(errno, "symlink %s -> %s", path, links[i][1]);
  }
  make_dir(in_stage(path, stage, "dev/pts"));
}

static void mount_mqueue(const struct stage *stage) {
  char path[PATH_MAX];
  do_mount("mqueue", make_dir(in_stage(path, stage, "dev/mqueue")), "mqueue", PROC_FLAGS, NULL);
}

/* Optional: a kernel may refuse sysfs to a process without a network namespace of its own; /sys
 * then stays an empty directory, which busybox and most programs tolerate. */
static void mount_sys(struct stage *stage) {
  char path[PATH_MAX];
  stage->sys_mounted = mount("sysfs", make_dir(in_stage(path, stage, "sys")), "sysfs", MS_RDONLY | PROC_FLAGS, NULL) == 0;
}

static void mask_paths(const struct stage *stage) {
  char path[PATH_MAX];
  struct stat st;
  for (size_t i = 0; i < COUNT(MASKED_PATHS); i++) {
    if (stat(in_stage(path, stage, "%s", MASKED_PATHS[i]), &st) < 0) continue; /* not on this kernel */
    if (S_ISDIR(st.st_mode)) do_mount("tmpfs", path, "tmpfs", MS_RDONLY | PROC_FLAGS, NULL);
    else do_mount("/dev/null", path, NULL, MS_BIND, NULL);
  }
}

/* A bind mount onto itself, remounted read-only: a bind remount changes this mount's flags only. */
static void read_only_paths(const struct stage *stage) {
  char path[PATH_MAX];
  struct stat st;
  for (size_t i = 0; i < COUNT(READONLY_PATHS); i++) {
    if (stat(in_stage(path, stage, "%s", READONLY_PATHS[i]), &st) < 0) continue;
    do_mount(path, path, NULL, MS_BIND | MS_REC, NULL);
    do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | PROC_FLAGS, NULL);
  }
}

void prepare_stage(struct stage *stage) {
  step("mountStage");
  do_mount("tmpfs", stage->dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700,size=64k");
  step("mountProc");
  mount_proc(stage);
  step("mountDev");
  mount_dev(stage);
  step("mountMqueue");
  mount_mqueue(stage);
  step("mountSys");
  mount_sys(stage);
  step("maskPaths");
  mask_paths(stage);
  step("readOnlyPaths");
  read_only_paths(stage);
}
