/**
 * The steps by which a container's init turns a copy of the host's mount namespace into the
 * container's root, in two lists. STAGE_STEPS need no container: a pooled init runs them before it
 * waits, a cold one as soon as it has booted; they mount /proc, /dev and /sys, with their masks,
 * under a stage directory. ROOT_STEPS run once the container is known: the overlay, the staged trees
 * moved into it, then pivot_root. They only call Sys and write inside the stage and the new root, so
 * a test can run them with the recording fake against a temporary directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, Sys,
} from '@tide/syscall';
import { overlayOptions } from '../snapshot/overlay.snapshotter';
import { mountBindFiles } from './bind-files.step';
import { InitConfig } from './init.config';
import { groupEntries } from './user';

/** The trees mounted ahead of the container, and moved into its root. */
export const STAGED_TREES = ['proc', 'dev', 'sys'] as const;

export interface Stage {
  /** A directory of the host, covered by a tmpfs in the init's own mount namespace. */
  dir: string;
  /** The staged trees actually mounted (sysfs may be refused). */
  mounted: Set<string>;
}

export interface InitStep<C> {
  name: string;
  run(sys: Sys, context: C): void;
}

/** What ROOT_STEPS work on. */
export interface RootContext {
  config: InitConfig;
  stage: Stage;
}
/** Host devices that are safe to share: they carry no state of the host. */
export const CONTAINER_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

/** Hidden from the container (the OCI runtime defaults of runc and containerd): kernel memory, keys,
 *  timers and firmware that would leak the host's state. Files get /dev/null, directories an empty
 *  read-only tmpfs; what this kernel does not have is skipped. */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
] as const;

/** Readable but not writable from the container (OCI defaults): kernel tunables and triggers. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/**
 * nodev on the root and on /dev: CAP_MKNOD stays in the default set (as in Docker), but with no
 * devices cgroup here, nodev on every writable mount is what keeps a node the container makes from
 * opening a host disk. The devices bound into /dev are mounts of their own and keep working.
 */
const ROOT_FLAGS = MS_NODEV;
const PROC_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/**
 * The order is the point; each step relies on the ones before it. Ahead of the container:
 * 1. makePrivate: the mount namespace the launcher cloned the init into is a copy whose mounts still share
 *    propagation with the host; making "/" recursively private first means no later mount (not even
 *    the overlay) propagates back to the host. pivot_root and MS_MOVE also refuse shared mounts.
 * 2. mountStage: a tmpfs over the stage directory, in this namespace only: mount points for the rest.
 * 3. mountProc: this process is PID 1 of the new PID namespace (the launcher cloned it with
 *    CLONE_NEWPID), so a proc mounted now shows the container's processes only.
 * 4. mountDev, mountMqueue, mountSys: while the host's /dev is reachable to bind devices. mqueue shows
 *    the queues of the IPC namespace the init is in, the container's.
 * 5. maskPaths, readOnlyPaths: over the proc and sysfs just mounted, so they come after them.
 */
export const STAGE_STEPS: readonly InitStep<Stage>[] = [
  { name: 'makePrivate', run: (sys) => sys.mount(null, '/', null, MS_REC | MS_PRIVATE, null) },
  { name: 'mountStage', run: (sys, stage) => sys.mount('tmpfs', stage.dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=700,size=64k') },
  { name: 'mountProc', run: mountProc },
  { name: 'mountDev', run: mountDev },
  { name: 'mountMqueue', run: mountMqueue },
  { name: 'mountSys', run: mountSys },
  { name: 'maskPaths', run: (sys, stage) => maskPaths(sys, stage.dir) },
  { name: 'readOnlyPaths', run: (sys, stage) => readOnlyPaths(sys, stage.dir) },
];

/**
 * Once the container is known:
 * 6. mountRoot: the overlay at the rootfs target, which makes it a mount point (pivot_root needs one).
 * 7. moveStaged: /proc, /dev and /sys, each with the mounts on it, moved into the new root (MS_MOVE).
 * 8. mountDevPts: a new devpts instance (the container's ptys are its own, numbered from 0), owned by
 *    the image's tty group: it needs the image, so it is mounted now.
 *    mountBindFiles: its sources (/etc/hosts, /etc/resolv.conf of bridge networking) are in the
 *    container's state dir on the host, and it may create its targets in the root: before readOnlyRoot.
 * 9. readOnlyRoot: the overlay's own mount turns read-only only now, after every mount point in it
 *    has been created; /proc, /dev, /dev/shm and /sys are mounts of their own and stay as they are.
 * 10. pivotRoot: pivot_root(".", ".") stacks the old root under the new one, and the lazy unmount
 *    detaches it (the emptied stage with it), so nothing of the host's tree stays reachable.
 * 11. setHostname: in the UTS namespace of its own; the agent's hostname stays untouched.
 * The init then sets the user, capabilities and no_new_privs (user-process.ts) and waits for "go"
 * (the agent has put it in its cgroup) before anything of the user runs.
 */
export const ROOT_STEPS: readonly InitStep<RootContext>[] = [
  { name: 'mountRoot', run: (sys, { config: c }) => sys.mount('overlay', c.rootfs.target, 'overlay', ROOT_FLAGS, overlayOptions(c.rootfs)) },
  { name: 'moveStaged', run: moveStaged },
  { name: 'mountDevPts', run: (sys, { config }) => mountDevPts(sys, config) },
  { name: 'mountBindFiles', run: (sys, { config }) => mountBindFiles(sys, config) },
  { name: 'readOnlyRoot', run: (sys, { config }) => readOnlyRoot(sys, config) },
  { name: 'pivotRoot', run: (sys, { config }) => pivotRoot(sys, config) },
  { name: 'setHostname', run: (sys, { config }) => sys.sethostname(config.hostname) },
];

function runSteps<C>(steps: readonly InitStep<C>[], sys: Sys, context: C): void {
  for (const step of steps) {
    try {
      step.run(sys, context);
    } catch (error) {
      throw new Error(`container init, step ${step.name}: ${(error as Error).message}`);
    }
  }
}

export function prepareStage(sys: Sys, dir: string): Stage {
  const stage: Stage = { dir, mounted: new Set() };
  runSteps(STAGE_STEPS, sys, stage);
  return stage;
}

export function prepareRoot(sys: Sys, config: InitConfig, stage: Stage): void {
  runSteps(ROOT_STEPS, sys, { config, stage });
}

function mountProc(sys: Sys, stage: Stage): void {
  const proc = path.join(stage.dir, 'proc');
  fs.mkdirSync(proc, { recursive: true });
  sys.mount('proc', proc, 'proc', PROC_FLAGS, null);
  stage.mounted.add('proc');
}

/**
 * A minimal /dev: a tmpfs with the harmless host devices bind-mounted in, /dev/shm, the fd links, and
 * the mount point of the container's devpts with /dev/ptmx pointing into it (mountDevPts).
 */
function mountDev(sys: Sys, stage: Stage): void {
  const dev = path.join(stage.dir, 'dev');
  fs.mkdirSync(dev, { recursive: true });
  sys.mount('tmpfs', dev, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=755,size=65536k');
  stage.mounted.add('dev');
  for (const name of CONTAINER_DEVICES) {
    fs.writeFileSync(`${dev}/${name}`, ''); // a bind mount needs an existing file as its target
    sys.mount(`/dev/${name}`, `${dev}/${name}`, null, MS_BIND, null);
  }
  fs.mkdirSync(`${dev}/shm`);
  sys.mount('shm', `${dev}/shm`, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=1777,size=65536k');
  fs.symlinkSync('/proc/self/fd', `${dev}/fd`);
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => fs.symlinkSync(`/proc/self/fd/${fd}`, `${dev}/${name}`));
  fs.mkdirSync(`${dev}/pts`);
  fs.symlinkSync('pts/ptmx', `${dev}/ptmx`);
}

function mountMqueue(sys: Sys, stage: Stage): void {
  const dir = path.join(stage.dir, 'dev/mqueue');
  fs.mkdirSync(dir);
  sys.mount('mqueue', dir, 'mqueue', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
}

function mountSys(sys: Sys, stage: Stage): void {
  const dir = path.join(stage.dir, 'sys');
  fs.mkdirSync(dir, { recursive: true });
  try {
    sys.mount('sysfs', dir, 'sysfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
    stage.mounted.add('sys');
  } catch {
    // Optional: a kernel may refuse sysfs to a process without a network namespace of its own;
    // /sys then stays an empty directory, which busybox and most programs tolerate.
  }
}

/** Each staged tree, with everything mounted on it, onto its directory in the new root. */
function moveStaged(sys: Sys, { config, stage }: RootContext): void {
  for (const tree of STAGED_TREES) {
    const target = path.join(config.rootfs.target, tree);
    fs.mkdirSync(target, { recursive: true });
    if (stage.mounted.has(tree)) sys.mount(path.join(stage.dir, tree), target, null, MS_MOVE, null);
  }
}

/**
 * The container's own pseudo-terminals: a new devpts instance (ptys numbered from 0, invisible to the
 * host's), its ptmx open to all, slaves owned by the image's tty group when it has one, as in Docker.
 */
function mountDevPts(sys: Sys, config: InitConfig): void {
  const tty = groupEntries(path.join(config.rootfs.target, 'etc')).find((g) => g.name === 'tty');
  const options = `newinstance,ptmxmode=0666,mode=0620${tty ? `,gid=${tty.gid}` : ''}`;
  sys.mount('devpts', path.join(config.rootfs.target, 'dev/pts'), 'devpts', MS_NOSUID | MS_NOEXEC, options);
}

/** What is at `file` in the stage: a file, a directory, or nothing (this kernel lacks it). */
function kindOf(file: string): 'file' | 'dir' | undefined {
  try {
    return fs.statSync(file).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

function maskPaths(sys: Sys, dir: string): void {
  for (const masked of MASKED_PATHS) {
    const target = path.join(dir, masked);
    const kind = kindOf(target);
    if (kind === 'file') sys.mount('/dev/null', target, null, MS_BIND, null);
    else if (kind === 'dir') sys.mount('tmpfs', target, 'tmpfs', MS_RDONLY | PROC_FLAGS, null);
  }
}

/** A bind mount onto itself, remounted read-only: a bind remount changes this mount's flags only. */
function readOnlyPaths(sys: Sys, dir: string): void {
  for (const readOnly of READONLY_PATHS) {
    const target = path.join(dir, readOnly);
    if (!kindOf(target)) continue;
    sys.mount(target, target, null, MS_BIND | MS_REC, null);
    sys.mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | PROC_FLAGS, null);
  }
}

function readOnlyRoot(sys: Sys, config: InitConfig): void {
  if (!config.readOnlyRootFilesystem) return;
  // The flags of a bind remount replace the mount's: nodev is given again so that it stays.
  sys.mount(null, config.rootfs.target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | ROOT_FLAGS, null);
}

function pivotRoot(sys: Sys, config: InitConfig): void {
  sys.chdir(config.rootfs.target);
  sys.pivotRoot('.', '.');
  sys.umount2('.', MNT_DETACH);
  sys.chdir('/');
}
