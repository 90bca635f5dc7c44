/**
 * Manifests and image indexes in both dialects the registries speak: OCI (image-spec v1) and Docker's
 * schema 2 (manifest and manifest list). Parsing checks every field the client relies on, so a garbage
 * answer is an error naming the field, never a crash further on.
 */
import { RegistryError } from './errors';
import { DIGEST } from './reference';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** The Accept header of a manifest GET: every manifest and index type this client understands. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerList].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type ManifestDocument =
  | { kind: 'manifest'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] };

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType);
}

/**
 * Parses a manifest or index. `contentType` is the registry's Content-Type header; the document's own
 * `mediaType` wins when present, and an OCI document without either is told apart by its fields.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ManifestDocument {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new RegistryError('Invalid', `${what}: the manifest is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RegistryError('Invalid', `${what}: the manifest is not a JSON object`);
  if (json.schemaVersion !== 2) throw new RegistryError('Invalid', `${what}: schemaVersion ${JSON.stringify(json.schemaVersion)} is not supported (only 2: OCI and Docker schema 2)`);
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const header = contentType?.split(';')[0].trim();
  const mediaType = declared ?? (header && isManifestMediaType(header) ? header : Array.isArray(json.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(json.manifests)) throw new RegistryError('Invalid', `${what}: an index without a "manifests" list`);
    return { kind: 'index', mediaType, manifests: json.manifests.map((d, i) => descriptor(d, `${what}: manifests[${i}]`)) };
  }
  if (!MANIFEST_TYPES.has(mediaType)) throw new RegistryError('Invalid', `${what}: media type "${mediaType}" is not an image manifest or index this client reads`);
  if (!Array.isArray(json.layers)) throw new RegistryError('Invalid', `${what}: a manifest without a "layers" list`);
  return {
    kind: 'manifest', mediaType, config: descriptor(json.config, `${what}: config`),
    layers: json.layers.map((d, i) => descriptor(d, `${what}: layers[${i}]`)),
  };
}

function descriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== 'object' || d === null) throw new RegistryError('Invalid', `${where}: not a descriptor object`);
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) throw new RegistryError('Invalid', `${where}: digest ${JSON.stringify(d.digest)} is not sha256:<64 hex>`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new RegistryError('Invalid', `${where}: size ${JSON.stringify(d.size)} is not a byte count`);
  if (typeof d.mediaType !== 'string') throw new RegistryError('Invalid', `${where}: no mediaType`);
  const platform = d.platform && typeof d.platform.os === 'string' && typeof d.platform.architecture === 'string'
    ? { os: d.platform.os, architecture: d.platform.architecture, ...(typeof d.platform.variant === 'string' ? { variant: d.platform.variant } : {}) }
    : undefined;
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(platform ? { platform } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** The platform of this process (OCI names: amd64, arm64...). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/**
 * The index entry for `platform`: os and architecture must match; a variant asked for must match, and
 * without one asked the entry without a variant (or the first) is taken. Attestation manifests
 * (`unknown/unknown`) never match. Undefined when the index has none (the caller lists what it has).
 */
export function selectPlatform(manifests: readonly Descriptor[], platform: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => MANIFEST_TYPES.has(m.mediaType) && m.platform?.os === platform.os && m.platform.architecture === platform.architecture);
  if (platform.variant) return candidates.find((m) => m.platform?.variant === platform.variant);
  return candidates.find((m) => !m.platform?.variant) ?? candidates[0];
}

export function platformName(p: Platform | undefined): string {
  return p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : 'unknown';
}
