/**
 * Volumes of a Service's replicas (issue 19), in Kubernetes' pod-volume shapes. Named local volumes
 * are a reference (`localVolume: { name }`), not an object of their own: the volume is made on first
 * use on the node of the first replica using it, outlives replicas, and every replica using it runs
 * on that node (Kubernetes' ReadWriteOnce claim on a local disk). Part of the tide/v1 contract.
 */

/** One key of the ConfigMap/Secret as a file at `path` (relative), mode defaulting to the volume's. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** Disk (medium "") or memory (tmpfs, counted in the replica's memory); over `sizeLimit` the replica is evicted. */
export interface EmptyDirVolumeSource {
  medium?: '' | 'Memory';
  sizeLimit?: string | number;
}

/** Every key as a file (or only `items`); files follow the ConfigMap when it changes. */
export interface ConfigMapVolumeSource {
  name: string;
  items?: KeyToPath[];
  /** Octal permission bits of the files, default 0644 (YAML `0644` or decimal 420). */
  defaultMode?: number;
  optional?: boolean;
}

/** As a ConfigMap volume, held in memory on the node (tmpfs), never on disk. */
export interface SecretVolumeSource {
  secretName: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export type HostPathType = '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket';

/** A path of the node itself (admin only: admin.fields.ts). */
export interface HostPathVolumeSource {
  path: string;
  type?: HostPathType;
}

/** A named volume local to one node (see the file comment). */
export interface LocalVolumeSource {
  name: string;
}

/** A name and exactly one source. */
export interface Volume {
  name: string;
  emptyDir?: EmptyDirVolumeSource;
  configMap?: ConfigMapVolumeSource;
  secret?: SecretVolumeSource;
  hostPath?: HostPathVolumeSource;
  localVolume?: LocalVolumeSource;
}

export const VOLUME_SOURCES = ['emptyDir', 'configMap', 'secret', 'hostPath', 'localVolume'] as const;
export type VolumeSourceName = (typeof VOLUME_SOURCES)[number];

export interface VolumeMount {
  /** The name of one of spec.volumes. */
  name: string;
  /** Absolute path in the container. */
  mountPath: string;
  readOnly?: boolean;
  /** A path inside the volume to mount instead of its root (relative, no `..`). */
  subPath?: string;
}
