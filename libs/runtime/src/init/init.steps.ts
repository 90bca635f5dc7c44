/**
 * The steps by which a container's init turns a copy of the host's mount namespace into the
 * container's root. They only call Sys and write inside the new root, so a test can run them with the
 * recording fake against a temporary directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, Sys,
} from '@tide/syscall';
import { overlayOptions } from '../snapshot/overlay.snapshotter';
import { mountBindFiles } from './bind-files.step';
import { InitConfig } from './init.config';

export interface InitStep {
  name: string;
  run(sys: Sys, config: InitConfig): void;
}

/** Host devices that are safe to share: they carry no state of the host. */
export const CONTAINER_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

/**
 * The order is the point; each step relies on the ones before it:
 * 1. makePrivate: the mount namespace unshared by the worker is a copy whose mounts still share
 *    propagation with the host; making "/" recursively private first means no later mount (not even
 *    the overlay) propagates back to the host. pivot_root also refuses a shared parent mount.
 * 2. mountRoot: the overlay at the rootfs target, which makes it a mount point (pivot_root needs one).
 * 3. mountProc: this process is PID 1 of the new PID namespace (the worker unshared NEWPID before
 *    spawning it), so a proc mounted now shows the container's processes only.
 * 4. mountDev, mountSys: before pivot_root, while the host's /dev is still reachable to bind devices.
 *    mountBindFiles likewise: its sources (/etc/hosts...) are in the container's state dir on the host.
 * 5. pivotRoot: pivot_root(".", ".") stacks the old root under the new one, and the lazy unmount
 *    detaches it, so nothing of the host's tree stays reachable from the container.
 * 6. setHostname: in the UTS namespace of its own; the agent's hostname stays untouched.
 * The init then waits for "go" (the agent has put it in its cgroup) before anything of the user runs.
 */
export const INIT_STEPS: readonly InitStep[] = [
  { name: 'makePrivate', run: (sys) => sys.mount(null, '/', null, MS_REC | MS_PRIVATE, null) },
  { name: 'mountRoot', run: (sys, c) => sys.mount('overlay', c.rootfs.target, 'overlay', 0, overlayOptions(c.rootfs)) },
  { name: 'mountProc', run: mountProc },
  { name: 'mountDev', run: (sys, c) => mountDev(sys, path.join(c.rootfs.target, 'dev')) },
  { name: 'mountSys', run: mountSys },
  { name: 'mountBindFiles', run: mountBindFiles },
  { name: 'pivotRoot', run: pivotRoot },
  { name: 'setHostname', run: (sys, c) => sys.sethostname(c.hostname) },
];

export function prepareRoot(sys: Sys, config: InitConfig): void {
  for (const step of INIT_STEPS) {
    try {
      step.run(sys, config);
    } catch (error) {
      throw new Error(`container init, step ${step.name}: ${(error as Error).message}`);
    }
  }
}

function mountProc(sys: Sys, config: InitConfig): void {
  const proc = path.join(config.rootfs.target, 'proc');
  fs.mkdirSync(proc, { recursive: true });
  sys.mount('proc', proc, 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
}

/** A minimal /dev: a tmpfs with the harmless host devices bind-mounted in, /dev/shm and the fd links. */
function mountDev(sys: Sys, dev: string): void {
  fs.mkdirSync(dev, { recursive: true });
  sys.mount('tmpfs', dev, 'tmpfs', MS_NOSUID | MS_NOEXEC, 'mode=755,size=65536k');
  for (const name of CONTAINER_DEVICES) {
    fs.writeFileSync(`${dev}/${name}`, ''); // a bind mount needs an existing file as its target
    sys.mount(`/dev/${name}`, `${dev}/${name}`, null, MS_BIND, null);
  }
  fs.mkdirSync(`${dev}/shm`);
  sys.mount('shm', `${dev}/shm`, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=1777,size=65536k');
  fs.symlinkSync('/proc/self/fd', `${dev}/fd`);
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => fs.symlinkSync(`/proc/self/fd/${fd}`, `${dev}/${name}`));
}

function mountSys(sys: Sys, config: InitConfig): void {
  const dir = path.join(config.rootfs.target, 'sys');
  fs.mkdirSync(dir, { recursive: true });
  try {
    sys.mount('sysfs', dir, 'sysfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
  } catch {
    // Optional: a kernel may refuse sysfs to a process without a network namespace of its own;
    // /sys then stays an empty directory, which busybox and most programs tolerate.
  }
}

function pivotRoot(sys: Sys, config: InitConfig): void {
  sys.chdir(config.rootfs.target);
  sys.pivotRoot('.', '.');
  sys.umount2('.', MNT_DETACH);
  sys.chdir('/');
}

/** Finds argv[0] on the container's PATH; called after pivot_root, so it looks inside the image. */
export function resolveExecutable(command: string, env: string[]): string {
  if (command.includes('/')) return command;
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';
  for (const dir of pathVar.split(':')) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(`executable "${command}" not found in the image (PATH=${pathVar})`);
}
