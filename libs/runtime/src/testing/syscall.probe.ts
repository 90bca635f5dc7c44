/**
 * A small static program for tests that must make raw system calls inside a container (busybox has
 * no keyctl, and nothing in the image can call io_uring_setup). Compiled with the host's gcc
 * (scripts/setup.sh installs gcc and libc6-dev). `probe NAME...` prints `NAME=OK` or `NAME=ERRNO`
 * (the symbolic name) per call, one a line.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *name(int e) {
  switch (e) { case EPERM: return "EPERM"; case ENOSYS: return "ENOSYS"; case EACCES: return "EACCES";
    case EINVAL: return "EINVAL"; case EFAULT: return "EFAULT"; case ENOENT: return "ENOENT"; default: return "OTHER"; }
}

static long call(const char *what) {
  char params[120]; memset(params, 0, sizeof params);
  if (!strcmp(what, "unshare-user")) return syscall(SYS_unshare, CLONE_NEWUSER);
  if (!strcmp(what, "unshare-net")) return syscall(SYS_unshare, CLONE_NEWNET);
  if (!strcmp(what, "keyctl")) return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 1);
  if (!strcmp(what, "add_key")) return syscall(SYS_add_key, "user", "tide-probe", "x", 1, -2 /* process keyring */);
  if (!strcmp(what, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, params);
  if (!strcmp(what, "mount")) return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0);
  if (!strcmp(what, "clone3")) return syscall(SYS_clone3, 0, 0);
  if (!strcmp(what, "getpid")) return syscall(SYS_getpid);
  errno = EINVAL; return -2;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    errno = 0;
    long r = call(argv[i]);
    if (r == -2) printf("%s=UNKNOWN\n", argv[i]);
    else if (r < 0) printf("%s=%s\n", argv[i], name(errno));
    else printf("%s=OK\n", argv[i]);
  }
  return 0;
}
`;

/** Compiles the probe into `dir`; answers its path. */
export function buildSyscallProbe(dir: string): string {
  const source = path.join(dir, 'probe.c');
  const binary = path.join(dir, 'probe');
  fs.writeFileSync(source, SOURCE);
  execFileSync('gcc', ['-static', '-O1', '-o', binary, source], { stdio: 'pipe' });
  return binary;
}
