/**
 * The volumes that hold a replica's own data on the node (issue 19): where each lives, made before
 * a start (config.volumes.ts binds them into the container with the ConfigMap and Secret ones).
 * - emptyDir on disk: `STATE/empty-dirs/<container>/<volume>`, made at the replica's first start and
 *   kept across its container's restarts (the data is the replica's, as in Kubernetes), removed with
 *   the replica. A sizeLimit is measured, as kubelet does: over it, the replica is evicted.
 * - emptyDir in memory: `STATE/memory-volumes/<container>/<volume>`, in one tmpfs of the agent
 *   mounted before any container init boots (as secret volumes: an init's mount namespace is a copy
 *   made then). Its pages count in the memory of the container writing them; its limit is the
 *   sizeLimit, else the container's memory limit.
 * - hostPath: the node's path itself, checked against its `type` (created for the *OrCreate ones).
 * - localVolume: `STATE/local-volumes/<namespace>/<name>`, made at first use, outliving replicas:
 *   only the operator removes it. The control plane keeps every replica using it on this node.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigReferenceError, LocalVolumeStatus, ReplicaAssignment, Volume, formatMemory, parseMemory } from '@tide/api';
import { ensureMemoryDir, releaseMemoryDir } from '@tide/runtime';
import { EVICTED, MeasuredContainer, diskUsage } from '../disk/ephemeral.storage';

/** A volume that cannot be made or found: the replica fails to start with this message. */
export class VolumeError extends ConfigReferenceError {}

/** How often the local volumes' sizes are measured for the control plane (each heartbeat asks). */
const REPORT_EVERY_MS = 10_000;

export interface NodeVolumesOptions {
  stateDir: string;
  /** Mounts the tmpfs of memory emptyDirs (default: ensureMemoryDir); tests stand in for it. */
  memoryDir?: (dir: string) => void;
}

/** The records NodeVolumes measures: the reconciler's (reconciler.ts). */
interface MeasuredRecord {
  key: string;
  exit?: unknown;
  container?: { id: string };
  assignment?: ReplicaAssignment;
}

export class NodeVolumes {
  private readonly emptyDirs: string;
  private readonly memoryDirs: string;
  private readonly localDir: string;
  private memoryReady = false;
  private reported?: { at: number; volumes: LocalVolumeStatus[] };

  constructor(private readonly options: NodeVolumesOptions) {
    this.emptyDirs = path.join(options.stateDir, 'empty-dirs');
    this.memoryDirs = path.join(options.stateDir, 'memory-volumes');
    this.localDir = path.join(options.stateDir, 'local-volumes');
  }

  /** Mounts the memory emptyDirs' tmpfs now, before any container init boots (see the file comment). */
  start(): void {
    this.ensureMemory();
  }

  /** Whether this class holds the volume (configMap and secret volumes are ConfigVolumes'). */
  static holds(volume: Volume): boolean {
    return Boolean(volume.emptyDir || volume.hostPath || volume.localVolume);
  }

  /** The volume's directory (or file, for a hostPath) on the node, made when it should be. */
  prepare(id: string, namespace: string, volume: Volume): string {
    if (volume.emptyDir) {
      const memory = volume.emptyDir.medium === 'Memory';
      if (memory) this.ensureMemory();
      return makeDir(path.join(memory ? this.memoryDirs : this.emptyDirs, id, volume.name));
    }
    if (volume.localVolume) {
      const dir = this.localVolumeDir(namespace, volume.localVolume.name);
      if (!fs.existsSync(dir)) this.madeLocalVolume();
      return makeDir(dir);
    }
    if (volume.hostPath) return prepareHostPath(volume);
    throw new VolumeError(`volume ${volume.name}: not an emptyDir, hostPath or localVolume volume`);
  }

  /** The replica is gone from this node: its emptyDirs go; local volumes and host paths stay. */
  release(id: string): void {
    for (const dir of [this.emptyDirs, this.memoryDirs]) fs.rmSync(path.join(dir, id), { recursive: true, force: true });
  }

  /** At start: the emptyDirs of containers that no longer exist (removed while no agent ran). */
  sweep(containers: ReadonlySet<string>): void {
    for (const dir of [this.emptyDirs, this.memoryDirs]) {
      for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (!containers.has(id)) fs.rmSync(path.join(dir, id), { recursive: true, force: true });
    }
  }

  /** Every emptyDir with a limit of the running containers, for the storage guard (disk/ephemeral.storage.ts). */
  *measured(records: Iterable<MeasuredRecord>): Iterable<MeasuredContainer> {
    for (const record of records) {
      if (!record.container || record.exit !== undefined || !record.assignment) continue;
      const template = record.assignment.template;
      for (const volume of template.volumes ?? []) {
        const limitBytes = emptyDirLimit(volume, template.limits.memoryBytes);
        if (limitBytes === undefined) continue;
        const memory = volume.emptyDir!.medium === 'Memory';
        const limitName = volume.emptyDir!.sizeLimit !== undefined ? 'sizeLimit' : "container's memory limit";
        yield {
          key: record.key, dir: path.join(memory ? this.memoryDirs : this.emptyDirs, record.container.id, volume.name), limitBytes, reason: EVICTED,
          describe: (used) => `emptyDir volume "${volume.name}" used ${formatMemory(used)}, over its ${limitName} ${formatMemory(limitBytes)}`,
        };
      }
    }
  }

  /** The named local volumes on this node, with the bytes each takes. */
  localVolumes(measure: (dir: string) => number = diskUsage): LocalVolumeStatus[] {
    const out: LocalVolumeStatus[] = [];
    for (const namespace of listDir(this.localDir).sort()) {
      for (const name of listDir(path.join(this.localDir, namespace)).sort()) out.push({ namespace, name, sizeBytes: measure(path.join(this.localDir, namespace, name)) });
    }
    return out;
  }

  /** localVolumes(), measured at most once per REPORT_EVERY_MS (a heartbeat asks every few seconds; measuring walks each tree). */
  report(now = Date.now()): LocalVolumeStatus[] {
    if (!this.reported || now - this.reported.at >= REPORT_EVERY_MS) this.reported = { at: now, volumes: this.localVolumes() };
    return this.reported.volumes;
  }

  /**
   * Deletes a named local volume with its data (`DELETE /v1/local-volumes/NS/NAME`), unless a replica
   * of this node mounts it (`inUse`): then it stays.
   */
  removeLocalVolume(namespace: string, name: string, inUse: boolean): 'removed' | 'absent' | 'in-use' {
    const dir = this.localVolumeDir(namespace, name);
    if (!fs.existsSync(dir)) return 'absent';
    if (inUse) return 'in-use';
    fs.rmSync(dir, { recursive: true, force: true });
    this.madeLocalVolume();
    return 'removed';
  }

  /** A volume was made or removed: the next report measures again. */
  private madeLocalVolume(): void {
    this.reported = undefined;
  }

  /** `node-agent cleanup`: emptyDirs go, the tmpfs is unmounted; local volumes are data and stay. */
  static tearDown(stateDir: string): void {
    fs.rmSync(path.join(stateDir, 'empty-dirs'), { recursive: true, force: true });
    releaseMemoryDir(path.join(stateDir, 'memory-volumes'));
  }

  localVolumeDir(namespace: string, name: string): string {
    return path.join(this.localDir, namespace, name);
  }

  private ensureMemory(): void {
    if (this.memoryReady) return;
    try {
      // A cap only: the pages count in the memory limit of the container that writes them.
      (this.options.memoryDir ?? ((dir) => ensureMemoryDir(dir, os.totalmem())))(this.memoryDirs);
    } catch (error) {
      throw new VolumeError(`cannot hold emptyDir volumes in memory (tmpfs on ${this.memoryDirs}): ${(error as Error).message}`);
    }
    this.memoryReady = true;
  }
}

/** The bytes an emptyDir may hold before its replica is evicted; undefined: unbounded (or not an emptyDir). */
export function emptyDirLimit(volume: Volume, memoryLimitBytes: number | undefined): number | undefined {
  if (!volume.emptyDir) return undefined;
  if (volume.emptyDir.sizeLimit !== undefined) return parseMemory(volume.emptyDir.sizeLimit);
  return volume.emptyDir.medium === 'Memory' && memoryLimitBytes ? memoryLimitBytes : undefined;
}

/** A hostPath as its type asks: made for DirectoryOrCreate and FileOrCreate, else checked; "" checks nothing. */
export function prepareHostPath(volume: Volume, sys: Pick<typeof fs, 'statSync' | 'mkdirSync' | 'writeFileSync'> = fs): string {
  const { path: hostPath, type = '' } = volume.hostPath!;
  const stat = sys.statSync(hostPath, { throwIfNoEntry: false });
  const fail = (what: string) => new VolumeError(`volume ${volume.name}: hostPath ${hostPath} ${what}`);
  const is = stat ? kindOf(stat) : undefined;
  switch (type) {
    case 'DirectoryOrCreate':
      if (!stat) sys.mkdirSync(hostPath, { recursive: true, mode: 0o755 });
      else if (is !== 'directory') throw fail(`is a ${is}, not a directory (type DirectoryOrCreate)`);
      return hostPath;
    case 'FileOrCreate':
      if (!stat) {
        sys.mkdirSync(path.dirname(hostPath), { recursive: true, mode: 0o755 });
        sys.writeFileSync(hostPath, '', { mode: 0o644, flag: 'wx' });
      } else if (is !== 'file') throw fail(`is a ${is}, not a file (type FileOrCreate)`);
      return hostPath;
    case 'Directory':
    case 'File':
    case 'Socket': {
      const wanted = type.toLowerCase();
      if (!stat) throw fail(`does not exist on the node (type ${type}: it must be there already)`);
      if (is !== wanted) throw fail(`is a ${is}, not a ${wanted} (type ${type})`);
      return hostPath;
    }
    default:
      if (!stat) throw fail('does not exist on the node (give type DirectoryOrCreate or FileOrCreate to have it made)');
      return hostPath;
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'directory';
  if (stat.isFile()) return 'file';
  if (stat.isSocket()) return 'socket';
  if (stat.isSymbolicLink()) return 'symbolic link';
  return stat.isCharacterDevice() || stat.isBlockDevice() ? 'device' : 'special file';
}

function makeDir(dir: string): string {
  // 0777 as kubelet makes an emptyDir: a container running as any user may write in it.
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o777);
  }
  return dir;
}

function listDir(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}
