/**
 * What a replica reads from ConfigMaps and Secrets on this node: its variables, resolved when its
 * container starts, and its configMap and secret volumes, written before the start and swapped in
 * place whenever the control plane sends new content (libs/runtime atomic.dir.ts). The objects come
 * with each desired set (only those the node's replicas name) and are held in memory only.
 * ConfigMap volumes live under `STATE/volumes/<container>/<volume>`; Secret volumes under
 * `STATE/secret-volumes`, a tmpfs (memory.dir.ts): no Secret value is ever on the node's disk,
 * neither a file nor a variable (the runtime keeps `secretEnv` out of its state file).
 * The replica's other volumes (emptyDir, hostPath, localVolume) are NodeVolumes' (node.volumes.ts):
 * this class asks it for their directory and binds them with the rest, writable unless the mount
 * says readOnly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ConfigData, ConfigReferenceError, ReplicaAssignment, Volume, VolumeMount, configKeyOf, resolveEnv, volumeFiles,
} from '@tide/api';
import { ContainerMount, ensureMemoryDir, releaseMemoryDir, writeAtomicDir } from '@tide/runtime';
import { NodeVolumes } from './node.volumes';

/** The tmpfs holding every secret volume of the node: Secrets are at most 1 MiB each. */
export const SECRET_VOLUMES_BYTES = 256 * 2 ** 20;

export interface PreparedConfig {
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  mounts: ContainerMount[];
}

export interface ConfigVolumesOptions {
  stateDir: string;
  /** Mounts the tmpfs for secret volumes (default: ensureMemoryDir); tests stand in for it. */
  memoryDir?: (dir: string) => void;
  /** The emptyDir, hostPath and localVolume volumes; without it a replica using one fails to start. */
  nodeVolumes?: NodeVolumes;
  log?: (line: string) => void;
}

export class ConfigVolumes {
  private configs = new Map<string, ConfigData>();
  /** The replicas whose volumes this agent wrote or found, by container id: kept current. */
  private readonly prepared = new Map<string, ReplicaAssignment>();
  private readonly volumesDir: string;
  private readonly secretsDir: string;
  private memoryReady = false;
  /** The containers found at start: emptyDirs of replicas neither running nor desired go at the first set. */
  private sweepAfterFirstSet?: ReadonlySet<string>;

  constructor(private readonly options: ConfigVolumesOptions) {
    this.volumesDir = path.join(options.stateDir, 'volumes');
    this.secretsDir = path.join(options.stateDir, 'secret-volumes');
  }

  /**
   * Mounts the secret volumes' tmpfs now, before any container init boots (each init's mount
   * namespace is a copy made then: a tmpfs mounted later would not be in it). A failure is said and
   * tried again at the first secret volume.
   */
  start(): void {
    try {
      this.ensureMemory();
    } catch (error) {
      this.log(`warning: ${(error as Error).message}`);
    }
  }

  /**
   * A new desired set: its objects replace the known ones, and the volumes of every desired replica
   * that has them (written by this agent or an earlier one) follow their new content.
   */
  update(configs: readonly ConfigData[], desired: readonly ReplicaAssignment[]): void {
    this.configs = new Map(configs.map((c) => [configKeyOf(c.kind, c.namespace, c.name), c]));
    if (this.sweepAfterFirstSet) {
      this.options.nodeVolumes?.sweep(new Set([...this.sweepAfterFirstSet, ...desired.map((a) => `${a.namespace}.${a.name}`)]));
      this.sweepAfterFirstSet = undefined;
    }
    for (const assignment of desired) {
      const id = `${assignment.namespace}.${assignment.name}`;
      if (!assignment.template.volumes?.length) continue;
      if (!this.prepared.has(id) && !this.hasVolumes(id)) continue;
      this.prepared.set(id, assignment);
      for (const volume of assignment.template.volumes) {
        if (NodeVolumes.holds(volume)) continue;
        try {
          if (this.writeVolume(id, assignment, volume.name)) this.log(`${assignment.namespace}/${assignment.name}: volume ${volume.name} updated`);
        } catch (error) {
          // A key or object gone: the running container keeps the files it has (kubelet does the same).
          this.log(`${assignment.namespace}/${assignment.name}: volume ${volume.name} not updated: ${(error as Error).message}`);
        }
      }
    }
  }

  /** Before a start: the variables and the mounts; throws ConfigReferenceError (or VolumeError) naming what is missing. */
  prepare(id: string, assignment: ReplicaAssignment): PreparedConfig {
    const lookup = (key: string) => this.configs.get(key);
    const { env, secretEnv } = resolveEnv(assignment.namespace, assignment.template, lookup);
    const volumes = assignment.template.volumes ?? [];
    const dirs = new Map<string, string>();
    for (const volume of volumes) dirs.set(volume.name, this.prepareVolume(id, assignment, volume));
    this.prepared.set(id, assignment);
    const mounts = (assignment.template.volumeMounts ?? []).map((mount) => {
      const volume = volumes.find((v) => v.name === mount.name);
      if (!volume) throw new ConfigReferenceError(`volumeMount ${mount.mountPath}: no volume named ${mount.name}`);
      return mountOf(mount, volume, dirs.get(volume.name)!);
    });
    return { env, secretEnv, mounts };
  }

  private prepareVolume(id: string, assignment: ReplicaAssignment, volume: Volume): string {
    if (!NodeVolumes.holds(volume)) {
      this.writeVolume(id, assignment, volume.name);
      return this.volumeDir(id, volume.name, Boolean(volume.secret));
    }
    if (!this.options.nodeVolumes) throw new ConfigReferenceError(`volume ${volume.name}: this agent runs no emptyDir, hostPath or localVolume volumes`);
    return this.options.nodeVolumes.prepare(id, assignment.namespace, volume);
  }

  /** The replica is gone from this node: its volumes go (a secret one from memory). */
  release(id: string): void {
    this.prepared.delete(id);
    fs.rmSync(path.join(this.volumesDir, id), { recursive: true, force: true });
    fs.rmSync(path.join(this.secretsDir, id), { recursive: true, force: true });
    this.options.nodeVolumes?.release(id);
  }

  /**
   * At start: the volumes of containers that no longer exist (removed while no agent ran). An
   * emptyDir is data: one of a replica still desired though without a container now (the agent
   * restarted during its back-off) stays, so theirs wait for the first desired set (update()).
   */
  sweep(containers: ReadonlySet<string>): void {
    for (const dir of [this.volumesDir, this.secretsDir]) {
      for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (!containers.has(id)) fs.rmSync(path.join(dir, id), { recursive: true, force: true });
    }
    this.sweepAfterFirstSet = containers;
  }

  /** `node-agent cleanup`: every volume, the tmpfs unmounted. */
  static tearDown(stateDir: string): void {
    fs.rmSync(path.join(stateDir, 'volumes'), { recursive: true, force: true });
    releaseMemoryDir(path.join(stateDir, 'secret-volumes'));
  }

  private hasVolumes(id: string): boolean {
    return fs.existsSync(path.join(this.volumesDir, id)) || fs.existsSync(path.join(this.secretsDir, id));
  }

  private volumeDir(id: string, volume: string, secret: boolean): string {
    return path.join(secret ? this.secretsDir : this.volumesDir, id, volume);
  }

  private writeVolume(id: string, assignment: ReplicaAssignment, name: string): boolean {
    const volume = assignment.template.volumes!.find((v) => v.name === name)!;
    const files = volumeFiles(assignment.namespace, volume, (key) => this.configs.get(key));
    if (volume.secret) this.ensureMemory();
    return writeAtomicDir(this.volumeDir(id, name, Boolean(volume.secret)), files);
  }

  private ensureMemory(): void {
    if (this.memoryReady) return;
    try {
      (this.options.memoryDir ?? ((dir) => ensureMemoryDir(dir, SECRET_VOLUMES_BYTES)))(this.secretsDir);
    } catch (error) {
      throw new ConfigReferenceError(`cannot hold secret volumes in memory (tmpfs on ${this.secretsDir}): ${(error as Error).message}; nothing was written`);
    }
    this.memoryReady = true;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/**
 * The bind of one volumeMount. A config volume is read-only in the container whatever the mount says,
 * as in Kubernetes, and only the agent writes in it (its sub path's links are the atomic swap's).
 * In a writable volume a missing sub path is made (directories of root, 0755), as kubelet does; the sub path
 * is resolved on the node and must stay inside the volume: a container may have left a symbolic
 * link there pointing anywhere on the node (CVE-2017-1002101).
 */
export function mountOf(mount: VolumeMount, volume: Volume, dir: string): ContainerMount {
  const config = !NodeVolumes.holds(volume);
  let source = mount.subPath ? path.join(dir, mount.subPath) : dir;
  if (mount.subPath && !config) {
    // Checked before anything is made: a link on the way would have the agent make directories elsewhere.
    const inside = insideVolume(dir, source);
    if (inside !== true) throw new ConfigReferenceError(`volumeMount ${mount.mountPath}: subPath "${mount.subPath}" leads out of volume ${volume.name} (to ${inside}); not mounted`);
    if (!fs.existsSync(source)) fs.mkdirSync(source, { recursive: true, mode: 0o755 });
    source = fs.realpathSync(source);
  }
  const stat = fs.statSync(source, { throwIfNoEntry: false });
  if (!stat) throw new ConfigReferenceError(`volumeMount ${mount.mountPath}: "${mount.subPath}" is not in volume ${volume.name}`);
  return { source, target: mount.mountPath, directory: stat.isDirectory(), readOnly: config || Boolean(mount.readOnly) };
}

/** True when `target`, resolved on the node as far as it exists, is inside `dir`; else where it leads. */
function insideVolume(dir: string, target: string): true | string {
  const root = fs.realpathSync(dir);
  let existing = target;
  while (!fs.existsSync(existing) && existing !== dir) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  return real === root || real.startsWith(`${root}/`) ? true : real;
}
