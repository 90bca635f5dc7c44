/**
 * The OCI image format as the store keeps it: media types, the JSON of manifests, indexes and image
 * configs, the runtime's view of a config (ImageConfig), and image references.
 */
import { createHash } from 'node:crypto';
import { ImageError } from './image.types';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

export const ANNOTATION_REF = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string };
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** The image config JSON (its sha256 is the image ID). Unknown fields are kept as they are. */
export interface OciImageConfig {
  created?: string;
  architecture?: string;
  os?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
    Volumes?: Record<string, object>;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

/** What the runtime needs of an image's config. */
export interface ImageConfig {
  env: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  /** "uid", "uid:gid", "name" or "name:group", as USER sets it. */
  user?: string;
  /** "8080/tcp", as EXPOSE sets it. */
  exposedPorts?: string[];
}

export function runtimeConfig(oci: OciImageConfig): ImageConfig {
  const c = oci.config ?? {};
  const env: Record<string, string> = {};
  for (const item of c.Env ?? []) {
    const eq = item.indexOf('=');
    if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return {
    env,
    ...(c.Entrypoint?.length ? { entrypoint: c.Entrypoint } : {}),
    ...(c.Cmd?.length ? { cmd: c.Cmd } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.User ? { user: c.User } : {}),
    ...(c.ExposedPorts && Object.keys(c.ExposedPorts).length ? { exposedPorts: Object.keys(c.ExposedPorts) } : {}),
  };
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of "sha256:<hex>"; refuses anything else (digests become file names). */
export function digestHex(digest: string, what = 'digest'): string {
  const match = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!match) throw new ImageError('Invalid', `${what} "${digest}" is not a sha256 digest`);
  return match[1];
}

/** The platform this node runs, in OCI's words. */
export function hostPlatform(): { os: string; architecture: string } {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const HOST = /^[A-Za-z0-9.-]+(?::[0-9]+)?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageRef {
  name: string;
  tag: string;
}

/**
 * "name[:tag]" with Docker's defaults: tag latest, "docker.io/library/" dropped (so an archive saved
 * from Docker Hub's busybox is "busybox:latest" here). Refuses anything that is not a reference,
 * since names become paths in the store.
 */
export function parseRef(ref: string): ImageRef {
  const at = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  let name = at > slash ? ref.slice(0, at) : ref;
  const tag = at > slash ? ref.slice(at + 1) : 'latest';
  name = name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
  const parts = name.split('/');
  const host = parts.length > 1 && /[.:]|^localhost$/.test(parts[0]) ? parts.shift()! : undefined;
  if ((host !== undefined && !HOST.test(host)) || !NAME.test(parts.join('/')) || !TAG.test(tag)) {
    throw new ImageError('Invalid', `"${ref}" is not a valid image reference (name[:tag], lower-case name)`);
  }
  return { name: host ? `${host}/${parts.join('/')}` : parts.join('/'), tag };
}

export function formatRef(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}`;
}
