/*
 * The steps that need the container, once its config is read:
 * 6. mountRoot: the overlay at the root, which makes it a mount point (pivot_root needs one).
 * 7. moveStaged: /proc, /dev and /sys, each with the mounts on it, moved into the new root (MS_MOVE).
 * 8. mountBindFiles: sources in the container's state dir or volumes on the host (/etc/hosts and
 *    /etc/resolv.conf of bridge networking, volumes), reachable until pivot_root; it may create its
 *    mount points in the root: before readOnlyRoot.
 * 9. readOnlyRoot: the overlay's own mount turns read-only only now, after every mount point in it
 *    has been created; /proc, /dev, /dev/shm and /sys are mounts of their own and stay as they are.
 * 10. pivotRoot: pivot_root(".", ".") stacks the old root under the new one, and the lazy unmount
 *    detaches it (the emptied stage with it), so nothing of the host's tree stays reachable.
 * 11. setHostname: in the UTS namespace of its own; the agent's hostname stays untouched.
 * 12. mountDevPts (after the user's lookup, main.c): the container's own ptys, owned by the image's
 *    tty group, which is read from the image's /etc/group once the root is the container's.
 *
 * A mount point inside the root is found with openat2(RESOLVE_IN_ROOT): a symlink of the image is
 * followed as the container would follow it, inside its root, so that no image can make the init
 * mount over (or create) a host path. The mount then goes onto /proc/self/fd/N, the directory or
 * file that fd holds, as runc does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "init.h"

/* nodev on the root and on /dev: CAP_MKNOD stays in the default set (as in Docker), but with no
 * devices cgroup here, nodev on every writable mount is what keeps a node the container makes from
 * opening a host disk. The devices bound into /dev are mounts of their own and keep working. */
static const unsigned long ROOT_FLAGS = MS_NODEV;

static int open_in_root(int root, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_PATH | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

/* The parent directory of `path` (absolute, inside the root), made as `mkdir -p` would, inside the
 * root; `name` is set to the last component. Each prefix is resolved from the root anew: a symlink
 * met on the way is followed as the container would follow it. */
static int parent_in_root(int root, const char *path, const char **name) {
  char prefix[PATH_MAX];
  size_t length = strlen(path);
  if (length >= sizeof prefix) fail(0, "%s is too long a path", path);
  memcpy(prefix, path, length + 1);
  char *last = strrchr(prefix, '/');
  *name = path + (last - prefix) + 1;
  if (**name == '\0' || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0) fail(0, "%s does not name a file", path);
  *last = '\0';
  int dir = open_in_root(root, "/", O_DIRECTORY);
  if (dir < 0) fail(errno, "open the container's root");
  for (char *end = prefix; *end != '\0';) {
    char *component = end + 1;
    end = strchrnul(component, '/');
    char separator = *end;
    *end = '\0'; /* prefix: the path up to this component */
    int next = open_in_root(root, prefix, O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(dir, component, 0755) < 0 && errno != EEXIST) fail(errno, "mkdir %s in the container's root", prefix);
      next = open_in_root(root, prefix, O_DIRECTORY);
    }
    if (next < 0) fail(errno, "open %s in the container's root", prefix);
    close(dir);
    dir = next;
    *end = separator;
  }
  return dir;
}

/* A plain file or directory at `path`, as `directory` asks: a symlink there is replaced rather than
 * followed, and so is an entry of the other kind (a directory only when empty). Answers an O_PATH fd. */
static int mount_point(int root, const char *path, int directory) {
  const char *name;
  int parent = parent_in_root(root, path, &name);
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
    if (unlinkat(parent, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) fail(errno, "replace %s in the container's root", path);
  }
  int made = directory ? mkdirat(parent, name, 0755) : mknodat(parent, name, S_IFREG | 0644, 0);
  if (made < 0 && errno != EEXIST) fail(errno, "create %s in the container's root", path);
  int fd = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) fail(errno, "open %s in the container's root", path);
  close(parent);
  return fd;
}

static void mount_on(const char *source, int target, const char *path, unsigned long flags) {
  char via[64];
  snprintf(via, sizeof via, "/proc/self/fd/%d", target);
  if (mount(source, via, NULL, flags, NULL) < 0) fail(errno, "mount %s on %s", source ? source : "(remount)", path);
}

static void move_staged(int root, const struct stage *stage) {
  static const char *const trees[] = {"proc", "dev", "sys"};
  for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++) {
    char staged[PATH_MAX], in_root[16];
    snprintf(in_root, sizeof in_root, "/%s", trees[i]);
    int target = mount_point(root, in_root, 1);
    if (snprintf(staged, sizeof staged, "%s/%s", stage->dir, trees[i]) >= (int)sizeof staged) fail(0, "the stage's path is too long");
    if (strcmp(trees[i], "sys") != 0 || stage->sys_mounted) mount_on(staged, target, in_root, MS_MOVE);
    close(target);
  }
}

static void mount_bind_files(int root, const struct init_config *config) {
  for (size_t i = 0; i < config->bind_count; i++) {
    const struct bind_file *bind = &config->binds[i];
    int target = mount_point(root, bind->target, bind->flags & BIND_DIRECTORY);
    mount_on(bind->source, target, bind->target, MS_BIND);
    close(target);
    if (!(bind->flags & BIND_READ_ONLY)) continue;
    /* A bind mount takes its flags only from a remount of itself: opened again, the path now ends on it. */
    target = open_in_root(root, bind->target, 0);
    if (target < 0) fail(errno, "open %s in the container's root", bind->target);
    mount_on(NULL, target, bind->target, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV);
    close(target);
  }
}

static void pivot_root_here(const char *root) {
  if (chdir(root) < 0) fail(errno, "chdir %s", root);
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(errno, "pivot_root %s", root);
  if (umount2(".", MNT_DETACH) < 0) fail(errno, "detach the host's root");
  if (chdir("/") < 0) fail(errno, "chdir /");
}

void prepare_root(const struct init_config *config, const struct stage *stage) {
  step("mountRoot");
  if (mount("overlay", config->root, "overlay", ROOT_FLAGS, config->overlay_options) < 0) fail(errno, "mount overlay on %s (%s)", config->root, config->overlay_options);
  int root = open(config->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail(errno, "open %s", config->root);
  step("moveStaged");
  move_staged(root, stage);
  step("mountBindFiles");
  mount_bind_files(root, config);
  close(root);
  step("readOnlyRoot");
  /* The flags of a bind remount replace the mount's: nodev is given again so that it stays. */
  if ((config->flags & CONFIG_READ_ONLY_ROOT) && mount(NULL, config->root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | ROOT_FLAGS, NULL) < 0) {
    fail(errno, "remount %s read-only", config->root);
  }
  step("pivotRoot");
  pivot_root_here(config->root);
  step("setHostname");
  if (sethostname(config->hostname, strlen(config->hostname)) < 0) fail(errno, "sethostname %s", config->hostname);
}

/* A new devpts instance (ptys numbered from 0, invisible to the host's), its ptmx open to all, slaves
 * owned by the image's tty group when it has one, as in Docker. */
void mount_devpts(const struct process_user *user) {
  step("mountDevPts");
  char options[96] = "newinstance,ptmxmode=0666,mode=0620";
  if (user->tty_gid >= 0) snprintf(options + strlen(options), sizeof options - strlen(options), ",gid=%ld", user->tty_gid);
  if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, options) < 0) fail(errno, "mount devpts on /dev/pts");
}
