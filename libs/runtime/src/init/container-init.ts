/**
 * The container's init. Started by the agent inside fresh PID, mount, UTS and IPC namespaces, it is
 * PID 1 of its namespace. It builds the root filesystem, waits until the agent has put it in its
 * cgroup, then execs the user's command, which thereby becomes PID 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, Sys, linuxSys,
} from '@tide/syscall';
import { overlayOptions } from '../snapshot/overlay.snapshotter';
import { GO_FD, InitConfig, STATUS_FD } from './init.config';

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * The order matters:
 * 1. rprivate first, so that no mount below propagates back to the host's mount namespace;
 * 2. the overlay root, then /proc (needs to be PID 1 of the new PID namespace to show only the
 *    container), /dev and /sys inside it, all before pivot_root while the host's /dev is still visible
 *    for bind-mounting device nodes;
 * 3. pivot_root(".", ".") + detach the old root, so that nothing of the host's tree stays reachable;
 * 4. hostname; then wait for "go" (cgroup membership) before anything of the user runs.
 */
export const INIT_STEPS = ['makePrivate', 'mountRoot', 'mountProc', 'mountDev', 'mountSys', 'pivotRoot', 'setHostname'] as const;

export function prepareRoot(sys: Sys, config: InitConfig): void {
  const root = config.rootfs.target;
  sys.mount(null, '/', null, MS_REC | MS_PRIVATE, null);
  sys.mount('overlay', root, 'overlay', 0, overlayOptions(config.rootfs));
  mkdirs(root, ['proc', 'dev', 'sys', 'tmp']);
  sys.mount('proc', `${root}/proc`, 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
  mountDev(sys, `${root}/dev`);
  try {
    sys.mount('sysfs', `${root}/sys`, 'sysfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
  } catch {
    // sysfs may be refused without a network namespace of our own; /sys then stays an empty directory.
  }
  sys.chdir(root);
  sys.pivotRoot('.', '.');
  sys.umount2('.', MNT_DETACH);
  sys.chdir('/');
  sys.sethostname(config.hostname);
}

function mkdirs(root: string, dirs: string[]): void {
  for (const dir of dirs) fs.mkdirSync(path.join(root, dir), { recursive: true });
}

/** A minimal /dev: a tmpfs with the harmless host devices bind-mounted in, /dev/shm and the fd links. */
function mountDev(sys: Sys, dev: string): void {
  sys.mount('tmpfs', dev, 'tmpfs', MS_NOSUID | MS_NOEXEC, 'mode=755,size=65536k');
  for (const name of DEVICES) {
    fs.writeFileSync(`${dev}/${name}`, '');
    sys.mount(`/dev/${name}`, `${dev}/${name}`, null, MS_BIND, null);
  }
  fs.mkdirSync(`${dev}/shm`);
  sys.mount('shm', `${dev}/shm`, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=1777,size=65536k');
  fs.symlinkSync('/proc/self/fd', `${dev}/fd`);
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => fs.symlinkSync(`/proc/self/fd/${fd}`, `${dev}/${name}`));
}

/** Finds argv[0] on the container's PATH (we are already inside its root). */
export function resolveExecutable(command: string, env: string[]): string {
  if (command.includes('/')) return command;
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';
  for (const dir of pathVar.split(':')) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(`executable "${command}" not found in the image (PATH=${pathVar})`);
}

/** Blocks until the agent's byte on GO_FD; the fd may be non-blocking (libuv socketpair), so retry EAGAIN. */
function waitForGo(): void {
  const byte = Buffer.alloc(1);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      if (fs.readSync(GO_FD, byte, 0, 1, null) !== 1) throw new Error('the agent went away before starting the container');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
  fs.closeSync(GO_FD);
}

function main(): void {
  const sys = linuxSys();
  sys.setCloexec(STATUS_FD, true);
  try {
    const config = JSON.parse(process.env.TIDE_INIT ?? '') as InitConfig;
    prepareRoot(sys, config);
    waitForGo();
    const executable = resolveExecutable(config.argv[0], config.env);
    sys.chdir(config.workingDir);
    for (const fd of [0, 1, 2]) sys.setCloexec(fd, false);
    sys.execve(executable, config.argv, config.env);
  } catch (error) {
    fs.writeSync(STATUS_FD, (error as Error).message);
    process.exit(127);
  }
}

if (require.main === module) main();
