/**
 * Import of image archives: OCI image layouts (oci-layout, index.json, nested indexes, blobs) and
 * `docker save` archives (manifest.json; layers as <id>/layer.tar or blobs/sha256/<hex>). Every blob
 * is checked against its digest, every layer against the config's diff_ids; layers enter the store
 * through ImageStore.addLayer like all others. A failed import commits no tag and its layers are
 * collected again.
 */
import * as fs from 'node:fs';
import { ArchiveFiles } from './archive.files';
import { ImageRecord, ImageStore, StoredLayer } from './image.store';
import { ImageError } from './image.types';
import { ExpectedDigests } from './layer.unpack';
import {
  ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF, Descriptor, MEDIA, OciImageConfig, OciIndex, OciManifest, digestHex, formatRef, hostPlatform,
  parseRef, sha256,
} from './oci';

/** An image found in the archive, before its layers are in the store. */
interface PendingImage {
  refs: string[];
  /** Original manifest bytes (OCI layouts keep their manifest digest), or undefined to make one. */
  manifest?: { bytes: Buffer; mediaType: string };
  config: Buffer;
  layers: { member: string; expected: ExpectedDigests }[];
}

export async function importArchive(store: ImageStore, file: string): Promise<ImageRecord[]> {
  if (!fs.existsSync(file)) throw new ImageError('Invalid', `archive ${file} does not exist`);
  try {
    return await store.lock.shared(async () => {
      const scratch = await store.tempDir('import');
      try {
        const archive = await ArchiveFiles.extract(file, scratch);
        const images = archive.has('index.json') ? await ociImages(archive) : archive.has('manifest.json') ? await dockerImages(archive) : undefined;
        if (!images) throw new ImageError('Invalid', `${archive.name}: neither an OCI image layout (index.json) nor a docker save archive (manifest.json)`);
        if (images.length === 0) throw new ImageError('Invalid', `${archive.name}: no image for ${hostPlatform().os}/${hostPlatform().architecture} in the archive`);
        return await commitAll(store, archive, images);
      } finally {
        await fs.promises.rm(scratch, { recursive: true, force: true });
      }
    });
  } catch (error) {
    // After the shared hold ends: collects what this import added, unless another import runs now.
    await store.collectGarbage().catch(() => undefined);
    throw error;
  }
}

async function commitAll(store: ImageStore, archive: ArchiveFiles, images: PendingImage[]): Promise<ImageRecord[]> {
  // Layers first, all of them: a tag is only committed once the whole archive has been verified.
  // Keyed by the scratch file: linked members share one, and addLayer consumes it.
  const byFile = new Map<string, StoredLayer>();
  const layersOf: StoredLayer[][] = [];
  for (const image of images) {
    const layers: StoredLayer[] = [];
    for (const { member, expected } of image.layers) {
      const file = archive.path(member, 'layer');
      let layer = byFile.get(file);
      if (!layer) {
        layer = await store.addLayer(file, expected, `${archive.name}: layer "${member}"`);
        byFile.set(file, layer);
      } else if (expected.diffID && expected.diffID !== layer.diffID) {
        throw new ImageError('Invalid', `${archive.name}: layer "${member}": diffID mismatch: the config says ${expected.diffID}, the layer has ${layer.diffID}`);
      }
      layers.push(layer);
    }
    layersOf.push(layers);
  }
  const records: ImageRecord[] = [];
  for (const [i, image] of images.entries()) {
    const layers = layersOf[i];
    const manifest = image.manifest ?? { bytes: Buffer.from(JSON.stringify(manifestFor(image.config, layers))), mediaType: MEDIA.manifest };
    for (const ref of image.refs) {
      records.push(await store.commit(ref, { manifest: manifest.bytes, manifestMediaType: manifest.mediaType, config: image.config, layers }));
    }
  }
  return records;
}

function manifestFor(config: Buffer, layers: StoredLayer[]): OciManifest {
  return {
    schemaVersion: 2, mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob, size: l.blobSize })),
  };
}

const blobMember = (digest: string) => `blobs/sha256/${digestHex(digest)}`;

/** A blob of the archive, verified against its digest. */
async function readBlob(archive: ArchiveFiles, descriptor: Descriptor, what: string): Promise<Buffer> {
  const data = await archive.read(blobMember(descriptor.digest), what);
  if (sha256(data) !== descriptor.digest) {
    throw new ImageError('Invalid', `${archive.name}: ${what} ${descriptor.digest}: digest mismatch, the content has ${sha256(data)}`);
  }
  return data;
}

async function ociImages(archive: ArchiveFiles): Promise<PendingImage[]> {
  const index = await archive.json<OciIndex>('index.json', 'index');
  const found: { refs: string[]; descriptor: Descriptor; bytes: Buffer }[] = [];
  const walk = async (manifests: Descriptor[], inherited: string[], depth: number): Promise<void> => {
    if (depth > 8) throw new ImageError('Invalid', `${archive.name}: indexes nested too deep`);
    for (const descriptor of manifests ?? []) {
      if (!platformMatches(descriptor)) continue;
      const refs = refsOf(descriptor, archive.name) ?? inherited;
      const bytes = await readBlob(archive, descriptor, 'manifest');
      const parsed = JSON.parse(bytes.toString('utf8')) as Partial<OciIndex & OciManifest>;
      if (parsed.manifests) await walk(parsed.manifests, refs, depth + 1);
      else if (parsed.config && parsed.layers) found.push({ refs, descriptor, bytes });
    }
  };
  await walk(index.manifests, [], 0);
  const images: PendingImage[] = [];
  for (const { refs, descriptor, bytes } of found) {
    const manifest = JSON.parse(bytes.toString('utf8')) as OciManifest;
    const config = await readBlob(archive, manifest.config, 'config');
    const diffIDs = diffIDsOf(archive, config, manifest.layers.length);
    const layers = manifest.layers.map((layer, i) => {
      if (/zstd/.test(layer.mediaType ?? '')) throw new ImageError('Invalid', `${archive.name}: layer ${layer.digest} is zstd-compressed (not supported)`);
      return { member: blobMember(layer.digest), expected: { blobDigest: layer.digest, diffID: diffIDs[i] } };
    });
    const ownRefs = refs.length > 0 ? refs : [untaggedRef(archive.name, descriptor.digest, found.length)];
    images.push({ refs: ownRefs, manifest: { bytes, mediaType: descriptor.mediaType ?? manifest.mediaType ?? MEDIA.manifest }, config, layers });
  }
  return images;
}

async function dockerImages(archive: ArchiveFiles): Promise<PendingImage[]> {
  const entries = await archive.json<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>('manifest.json', 'manifest');
  if (!Array.isArray(entries)) throw new ImageError('Invalid', `${archive.name}: manifest.json is not a list of images`);
  const images: PendingImage[] = [];
  for (const entry of entries) {
    const config = await archive.read(entry.Config, 'config');
    const named = /([a-f0-9]{64})(?:\.json)?$/.exec(entry.Config);
    if (named && sha256(config) !== `sha256:${named[1]}`) {
      throw new ImageError('Invalid', `${archive.name}: config "${entry.Config}": digest mismatch, the content has ${sha256(config)}`);
    }
    const diffIDs = diffIDsOf(archive, config, entry.Layers.length);
    const layers = entry.Layers.map((member, i) => {
      const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(member);
      return { member, expected: { diffID: diffIDs[i], ...(blob ? { blobDigest: `sha256:${blob[1]}` } : {}) } };
    });
    const refs = entry.RepoTags?.length ? entry.RepoTags : [untaggedRef(archive.name, sha256(config), entries.length)];
    images.push({ refs: refs.map((r) => checkedRef(archive.name, r)), config, layers });
  }
  return images;
}

function diffIDsOf(archive: ArchiveFiles, config: Buffer, layerCount: number): string[] {
  const parsed = JSON.parse(config.toString('utf8')) as OciImageConfig;
  const diffIDs = parsed.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== layerCount) {
    throw new ImageError('Invalid', `${archive.name}: the config lists ${diffIDs.length} diff_ids for ${layerCount} layers`);
  }
  return diffIDs;
}

/** containerd's full name wins; an OCI ref.name is a full reference or just a tag (then the archive names the image). */
function refsOf(descriptor: Descriptor, archiveName: string): string[] | undefined {
  const annotations = descriptor.annotations ?? {};
  const full = annotations[ANNOTATION_CONTAINERD_NAME];
  if (full) return [checkedRef(archiveName, full)];
  const refName = annotations[ANNOTATION_REF];
  if (!refName) return undefined;
  return [checkedRef(archiveName, /[:/]/.test(refName) ? refName : `${nameFromArchive(archiveName)}:${refName}`)];
}

function checkedRef(archiveName: string, ref: string): string {
  try {
    return formatRef(parseRef(ref));
  } catch (error) {
    throw new ImageError('Invalid', `${archiveName}: ${(error as Error).message}`);
  }
}

function nameFromArchive(archiveName: string): string {
  const base = archiveName.replace(/(\.tar)?(\.gz|\.tgz)?$/, '').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return base || 'imported';
}

/** An image without a name is named after the archive ("web.tar" → web:latest, or web:<digest> when several). */
function untaggedRef(archiveName: string, digest: string, count: number): string {
  return `${nameFromArchive(archiveName)}:${count === 1 ? 'latest' : digestHex(digest).slice(0, 12)}`;
}

function platformMatches(descriptor: Descriptor): boolean {
  const platform = descriptor.platform;
  if (!platform) return true;
  const host = hostPlatform();
  return platform.os === host.os && platform.architecture === host.architecture;
}
