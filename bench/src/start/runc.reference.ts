/**
 * The runc side of the start benchmark, doing per container what Tide's start() does, the way
 * containerd drives runc: a fresh overlay snapshot (upper, work and rootfs directories, made by the
 * same OverlaySnapshotter as Tide's), its overlay mount (on the host: runc takes a directory as its
 * root, where Tide's init mounts the overlay inside the container's mount namespace), the bundle's
 * config.json, then runc. The spec matches Tide's container: namespaces pid, mount, uts, ipc (host
 * network), the same mounts as Tide's init makes (no /sys/fs/cgroup, which runc's default spec has
 * and Tide does not mount), the OCI masked and read-only paths, Docker's default capabilities,
 * no_new_privs, the same limits, in a cgroup under the benchmark's own.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MNT_DETACH, MS_NODEV, linuxSys } from '@tide/syscall';
import { ContainerLimits, OverlaySnapshotter, overlayOptions } from '@tide/runtime';

/** Docker's default set, as Tide's init keeps it (libs/runtime capabilities.ts). */
const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('runc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc ${args.slice(2, 3).join(' ')}: exit ${code}: ${stderr.trim()}`))));
  });
}

export interface RuncOptions {
  /** Bundles, snapshots and runc's state go under it. */
  dir: string;
  layerDirs: string[];
  /** cgroup path (from the hierarchy's root) under which each container gets its group. */
  cgroupParent: string;
  argv: string[];
  limits: ContainerLimits;
  /** The OCI form of Tide's default seccomp profile (`--runc-seccomp`); none by default, as `runc spec`. */
  seccomp?: Record<string, unknown>;
}

export class RuncReference {
  private readonly stateRoot: string;
  private readonly snapshots: OverlaySnapshotter;
  private readonly spec: Record<string, any>;
  private readonly mounted = new Set<string>();

  constructor(private readonly options: RuncOptions) {
    this.stateRoot = path.join(options.dir, 'runc-state');
    this.snapshots = new OverlaySnapshotter(path.join(options.dir, 'runc'));
    this.spec = specFor(options);
  }

  /** Timed as one start: snapshot, mount, config.json, `runc run --detach` (returns once the process runs). */
  async run(id: string): Promise<void> {
    await run(['--root', this.stateRoot, 'run', '--detach', '--bundle', await this.bundle(id), id]);
  }

  /** What the warm pool does ahead of time, and more: snapshot, mount, `runc create` (namespaces,
   *  cgroup, root filesystem, the init waiting on its exec fifo). */
  async create(id: string): Promise<void> {
    await run(['--root', this.stateRoot, 'create', '--bundle', await this.bundle(id), id]);
  }

  /** Timed for the start-only figure: `runc start` of a created container (execve of the command). */
  async startCreated(id: string): Promise<void> {
    await run(['--root', this.stateRoot, 'start', id]);
  }

  async remove(id: string): Promise<void> {
    await run(['--root', this.stateRoot, 'delete', '--force', id]).catch(() => undefined);
    const rootfs = path.join(this.options.dir, 'runc', id, 'rootfs');
    if (this.mounted.delete(rootfs)) linuxSys().umount2(rootfs, MNT_DETACH);
    await this.snapshots.remove(id);
  }

  /** Every container runc still knows, and every mount left: after a failure as after a good run. */
  async cleanup(): Promise<void> {
    const listed = fs.existsSync(this.stateRoot) ? execFileSync('runc', ['--root', this.stateRoot, 'list', '-q'], { encoding: 'utf8' }) : '';
    for (const id of listed.split('\n').filter(Boolean)) await this.remove(id);
    for (const rootfs of this.mounted) linuxSys().umount2(rootfs, MNT_DETACH);
    this.mounted.clear();
  }

  private async bundle(id: string): Promise<string> {
    const mount = await this.snapshots.prepare(id, this.options.layerDirs);
    const bundle = path.dirname(mount.target);
    await fs.promises.writeFile(path.join(bundle, 'config.json'), JSON.stringify({ ...this.spec, linux: { ...this.spec.linux, cgroupsPath: `/${this.options.cgroupParent}/${id}` } }));
    // The flags of Tide's root (nodev); the options are the same function's.
    linuxSys().mount('overlay', mount.target, 'overlay', MS_NODEV, overlayOptions(mount));
    this.mounted.add(mount.target);
    return bundle;
  }
}

/** `runc spec`'s defaults, changed to match what Tide's init makes (see the file's comment). */
function specFor(options: RuncOptions): Record<string, any> {
  const dir = fs.mkdtempSync(path.join(options.dir, 'spec-'));
  execFileSync('runc', ['spec'], { cwd: dir });
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  spec.process.terminal = false;
  spec.process.args = options.argv;
  spec.process.env = ['PATH=/bin:/usr/bin:/sbin:/usr/sbin', 'HOSTNAME=bench'];
  spec.process.capabilities = { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES };
  spec.process.noNewPrivileges = true;
  spec.root = { path: 'rootfs', readonly: false };
  spec.hostname = 'bench';
  spec.mounts = spec.mounts.filter((m: { destination: string }) => m.destination !== '/sys/fs/cgroup');
  spec.linux.namespaces = ['pid', 'mount', 'uts', 'ipc'].map((type) => ({ type }));
  spec.linux.resources = {
    memory: { limit: options.limits.memoryBytes },
    // Tide writes the shares of its default request (100m) too.
    cpu: { shares: 102, quota: ((options.limits.cpuMillis ?? 1000) * 100_000) / 1000, period: 100_000 },
    pids: { limit: options.limits.pids },
  };
  if (options.seccomp) spec.linux.seccomp = options.seccomp;
  return spec;
}
