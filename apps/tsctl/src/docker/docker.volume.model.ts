/**
 * Docker volumes and mounts as Tide volumes, both ways. Pure functions: no I/O.
 *
 * A named Docker volume (`docker volume create`, `-v data:/x`, compose's `PROJECT_data`) is a Tide
 * named local volume (libs/api volume.types.ts) in the container's namespace: made on first use on
 * the node of the first container using it, kept when containers go, and every container using it
 * placed on that node, as dockerd's `local` driver keeps a volume on one host. A Docker name that is
 * not a DNS label maps through tideName (`shop_data` → `shop-data-1a2b3c4d`). The volume itself is a
 * ConfigMap in the server's namespace labelled `tide/docker=volume` (as networks are), holding its
 * Docker name and labels, so `docker volume ls` lists a volume created and not used yet, as dockerd
 * does. A container's Service carries the Docker names of its volumes in a label, for inspect.
 *
 * Bind mounts (`-v /host:/x`, `--mount type=bind`) are hostPath volumes, which the API allows the
 * admin role only (the refusal names the field); `--tmpfs` and `--mount type=tmpfs` are emptyDirs in
 * memory. An anonymous volume (`-v /x`) is an emptyDir on disk: it lives as long as the container's
 * replica, so a stop and start begins it empty where dockerd keeps it until `docker rm -v`.
 */
import type { ConfigMap, Service, Volume, VolumeMount } from '@tide/api';
import { parseMemory } from '@tide/api';
import { DockerError } from './docker.errors';
import { CONTAINER_LABEL, CreateBody, VOLUME_NAMES_LABEL, tideName } from './docker.model';


/** dockerd's volume name rule (volume/local: validName). */
const DOCKER_VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A Docker volume as the server keeps it: its record, and where Tide holds it once a container used it. */
export interface DockerVolume {
  name: string;
  /** The Tide local volume's name (in each namespace a container used it from). */
  tideName: string;
  created: string;
  labels: Record<string, string>;
  /** The ConfigMap holding it. */
  record: string;
}

/** What Tide reports of a local volume of that name: its node and size, per namespace. */
export interface HeldVolume {
  namespace: string;
  node: string;
  sizeBytes?: number;
  users: string[];
}

/** The fields of `POST /volumes/create` Tide reads; the rest must be left at their defaults. */
export interface VolumeCreateBody {
  Name?: string | null;
  Driver?: string | null;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  ClusterVolumeSpec?: unknown;
}

/** One `--mount` of a create body (HostConfig.Mounts). */
interface MountBody {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export function isVolumeRecord(config: ConfigMap): boolean {
  return config.metadata.labels?.[CONTAINER_LABEL] === 'volume';
}

export function volumeOf(config: ConfigMap): DockerVolume {
  const labels = Object.fromEntries(Object.entries(config.metadata.labels ?? {}).filter(([key]) => key !== CONTAINER_LABEL));
  const name = config.data?.name ?? config.metadata.name;
  return { name, tideName: config.data?.volume ?? tideName(name), created: config.metadata.creationTimestamp ?? new Date(0).toISOString(), labels, record: config.metadata.name };
}

/** The ConfigMap a volume create asks for (a name made as dockerd makes one when none is given), or a DockerError naming what Tide does not take. */
export function volumeRecord(body: VolumeCreateBody, serverNamespace: string, madeName: () => string): ConfigMap {
  const name = body.Name || madeName();
  if (!DOCKER_VOLUME_NAME.test(name)) throw new DockerError(400, `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
  const missing = [
    body.Driver && body.Driver !== 'local' && `the "${body.Driver}" volume driver (only local)`,
    Object.keys(body.DriverOpts ?? {}).length && 'driver options (-o): a Tide volume is a directory on its node',
    body.ClusterVolumeSpec && 'cluster volumes',
  ].filter((what): what is string => typeof what === 'string' && what !== '');
  if (missing.length) throw new DockerError(501, `Tide's Docker API does not support ${missing.join('; ')} yet`);
  const volume = tideName(name);
  return {
    apiVersion: 'tide/v1', kind: 'ConfigMap',
    metadata: { name: `docker-volume-${volume}`, namespace: serverNamespace, labels: { ...(body.Labels ?? {}), [CONTAINER_LABEL]: 'volume' } },
    data: { name, volume },
  };
}

/** `GET /volumes/{name}` and each entry of `GET /volumes`. */
export function volumeEntry(volume: DockerVolume, held: HeldVolume[]): Record<string, unknown> {
  return {
    Name: volume.name,
    Driver: 'local',
    // The directory is on a node (STATE/local-volumes/NAMESPACE/NAME), not on this client's machine.
    Mountpoint: '',
    CreatedAt: volume.created,
    Labels: volume.labels,
    Scope: 'local',
    Options: null,
    // The driver's own status: where Tide holds it, once a container used it.
    Status: held.length ? { Nodes: held.map((h) => `${h.node} (namespace ${h.namespace}${h.sizeBytes !== undefined ? `, ${h.sizeBytes} bytes` : ''})`).join('; ') } : { Nodes: 'none yet: made on first use' },
    UsageData: null,
  };
}

/** The Service fields of a create body's volumes and mounts, and the named volumes it uses (to record those not created yet). */
export interface ContainerVolumes {
  volumes: Volume[];
  volumeMounts: VolumeMount[];
  /** Docker names of the named volumes, by their Tide name. */
  named: Map<string, string>;
}

/** HostConfig.Binds, HostConfig.Mounts, HostConfig.Tmpfs and Volumes (anonymous) as Tide volumes. */
export function volumesOfCreate(body: CreateBody): ContainerVolumes {
  const out: ContainerVolumes = { volumes: [], volumeMounts: [], named: new Map() };
  const host = body.HostConfig ?? {};
  const add = (key: string, volume: Omit<Volume, 'name'>, mountPath: string, readOnly: boolean, field: string) => {
    if (!mountPath.startsWith('/')) throw new DockerError(400, `${field}: the mount point "${mountPath}" is not an absolute path`);
    if (out.volumeMounts.some((m) => m.mountPath === mountPath)) throw new DockerError(400, `Duplicate mount point: ${mountPath}`);
    let entry = out.volumes.find((v) => volumeKey(v) === key);
    if (!entry) out.volumes.push(entry = { name: `v${out.volumes.length}`, ...volume });
    out.volumeMounts.push({ name: entry.name, mountPath, ...(readOnly ? { readOnly: true } : {}) });
  };
  const named = (dockerName: string, field: string): Omit<Volume, 'name'> => {
    if (!DOCKER_VOLUME_NAME.test(dockerName)) throw new DockerError(400, `${field}: "${dockerName}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`);
    const name = tideName(dockerName);
    out.named.set(name, dockerName);
    return { localVolume: { name } };
  };
  (host.Binds ?? []).forEach((bind, i) => {
    const field = `HostConfig.Binds[${i}]`;
    const parts = bind.split(':');
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw new DockerError(400, `${field}: "${bind}" is not SOURCE:DESTINATION[:MODE]`);
    const modes = parts[2] ? parts[2].split(',') : [];
    const unknown = modes.filter((m) => !['ro', 'rw', 'nocopy'].includes(m));
    if (unknown.length) throw new DockerError(501, `Tide's Docker API does not support the mount mode ${unknown.join(',')} (${field}) yet: only ro, rw and nocopy`);
    const source = parts[0].startsWith('/') ? { hostPath: { path: parts[0], type: 'DirectoryOrCreate' as const } } : named(parts[0], field);
    add(parts[0], source, parts[1], modes.includes('ro'), field);
  });
  ((host.Mounts ?? []) as MountBody[]).forEach((mount, i) => {
    const field = `HostConfig.Mounts[${i}]`;
    const target = mount.Target ?? '';
    if (mount.Type === 'bind') {
      if (!mount.Source?.startsWith('/')) throw new DockerError(400, `${field}: a bind mount's source "${mount.Source ?? ''}" is not an absolute path`);
      if (mount.BindOptions?.Propagation) throw new DockerError(501, `Tide's Docker API does not support bind propagation (${field}) yet`);
      // --mount, unlike -v, never makes a missing source (dockerd: "bind source path does not exist").
      return add(mount.Source, { hostPath: { path: mount.Source, type: mount.BindOptions?.CreateMountpoint ? 'DirectoryOrCreate' : '' } }, target, mount.ReadOnly === true, field);
    }
    if (mount.Type === 'volume') {
      if (mount.VolumeOptions?.DriverConfig?.Name && mount.VolumeOptions.DriverConfig.Name !== 'local') throw new DockerError(501, `Tide's Docker API does not support the "${mount.VolumeOptions.DriverConfig.Name}" volume driver (${field}) yet`);
      if (!mount.Source) return add(`anonymous:${target}`, { emptyDir: {} }, target, mount.ReadOnly === true, field);
      return add(mount.Source, named(mount.Source, field), target, mount.ReadOnly === true, field);
    }
    if (mount.Type === 'tmpfs') {
      const size = mount.TmpfsOptions?.SizeBytes;
      return add(`tmpfs:${target}`, { emptyDir: { medium: 'Memory', ...(size ? { sizeLimit: size } : {}) } }, target, false, field);
    }
    throw new DockerError(501, `Tide's Docker API does not support ${mount.Type ?? 'untyped'} mounts (${field}) yet: only bind, volume and tmpfs`);
  });
  for (const [target, options] of Object.entries(host.Tmpfs ?? {})) {
    add(`tmpfs:${target}`, { emptyDir: { medium: 'Memory', ...tmpfsSize(options, `HostConfig.Tmpfs["${target}"]`) } }, target, false, `HostConfig.Tmpfs["${target}"]`);
  }
  for (const target of Object.keys(body.Volumes ?? {})) {
    // A path a bind or named volume already covers is no anonymous volume (compose sends both).
    if (out.volumeMounts.some((m) => m.mountPath === target)) continue;
    add(`anonymous:${target}`, { emptyDir: {} }, target, false, `Volumes["${target}"]`);
  }
  return out;
}

/** `--tmpfs /run:size=64m,noexec`: the size is the emptyDir's limit; mount flags Tide's memory emptyDirs already set are accepted. */
function tmpfsSize(options: string, field: string): { sizeLimit?: string | number } {
  let size: string | undefined;
  for (const option of options.split(',').filter(Boolean)) {
    const [key, value] = option.split('=');
    if (key === 'size' && value) size = value;
    else if (!['rw', 'noexec', 'nosuid', 'nodev'].includes(key)) throw new DockerError(501, `Tide's Docker API does not support the tmpfs option "${option}" (${field}) yet: only size, rw, noexec, nosuid and nodev`);
  }
  if (size === undefined) return {};
  // Docker's sizes (64m, 1g) and Kubernetes' (64Mi) are both taken; a bare number is bytes.
  const docker = /^(\d+)([kmg])$/i.exec(size);
  const limit = docker ? `${docker[1]}${docker[2].toUpperCase()}i` : size;
  try {
    parseMemory(limit);
  } catch {
    throw new DockerError(400, `${field}: size "${size}" is not a size (64m, 1g or bytes)`);
  }
  return { sizeLimit: /^\d+$/.test(limit) ? Number(limit) : limit };
}

function volumeKey(volume: Volume): string {
  if (volume.localVolume) return volume.localVolume.name;
  if (volume.hostPath) return volume.hostPath.path;
  return `${volume.emptyDir?.medium === 'Memory' ? 'tmpfs' : 'anonymous'}:${volume.name}`;
}

/** The label value keeping the Docker names that differ from their Tide names. */
export function volumeNamesLabel(named: Map<string, string>): Record<string, string> {
  const pairs = [...named].filter(([tide, docker]) => tide !== docker).map(([tide, docker]) => `${tide}=${docker}`);
  return pairs.length ? { [VOLUME_NAMES_LABEL]: pairs.join(',') } : {};
}

/** `Mounts` of `docker inspect` and `docker ps`: each of the Service's mounts as Docker shows it. */
export function mountEntries(service: Service): Array<Record<string, unknown>> {
  const names = new Map((service.metadata.labels?.[VOLUME_NAMES_LABEL] ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string]));
  const volumes = new Map((service.spec.volumes ?? []).map((v) => [v.name, v]));
  return (service.spec.volumeMounts ?? []).flatMap((mount) => {
    const volume = volumes.get(mount.name);
    const common = { Destination: mount.mountPath, Mode: mount.readOnly ? 'ro' : '', RW: !mount.readOnly, Propagation: '' };
    if (volume?.localVolume) return [{ Type: 'volume', Name: names.get(volume.localVolume.name) ?? volume.localVolume.name, Source: '', Driver: 'local', ...common }];
    if (volume?.hostPath) return [{ Type: 'bind', Source: volume.hostPath.path, ...common, Propagation: 'rprivate' }];
    if (volume?.emptyDir?.medium === 'Memory') return [{ Type: 'tmpfs', Source: '', ...common }];
    if (volume?.emptyDir) return [{ Type: 'volume', Name: `${service.metadata.uid ?? service.metadata.name}-${volume.name}`, Source: '', Driver: 'local', ...common }];
    return [];
  });
}

/** The Tide names of the named volumes a Service mounts. */
export function namedVolumesOf(service: Service): string[] {
  return (service.spec.volumes ?? []).flatMap((v) => (v.localVolume ? [v.localVolume.name] : []));
}
