/**
 * Export as an OCI image layout tar: the stored blobs byte for byte (so an imported image exports
 * with its own digests and image ID), an index.json naming the image the way containerd does
 * (io.containerd.image.name = full reference, org.opencontainers.image.ref.name = tag).
 */
import { ImageStore } from './image.store';
import { ImageError } from './image.types';
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF, MEDIA, OciIndex, digestHex, formatRef, parseRef } from './oci';
import { TarWriter, streamSink } from '@tide/tar';

export async function exportArchive(store: ImageStore, ref: string, out: NodeJS.WritableStream): Promise<void> {
  const parsed = parseRef(ref);
  const record = await store.record(formatRef(parsed));
  if (!record) throw new ImageError('NotFound', `image "${formatRef(parsed)}" not found on this node`);
  const index: OciIndex = {
    schemaVersion: 2, mediaType: MEDIA.index,
    manifests: [{
      mediaType: record.manifestMediaType, digest: record.manifest, size: record.manifestSize,
      annotations: { [ANNOTATION_CONTAINERD_NAME]: record.ref, [ANNOTATION_REF]: parsed.tag },
    }],
  };
  const tar = new TarWriter(streamSink(out));
  await tar.add({ name: 'oci-layout', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await tar.add({ name: 'index.json', type: 'file', mode: 0o644 }, Buffer.from(JSON.stringify(index)));
  await tar.add({ name: 'blobs', type: 'directory', mode: 0o755 });
  await tar.add({ name: 'blobs/sha256', type: 'directory', mode: 0o755 });
  const written = new Set<string>();
  for (const digest of [record.manifest, record.config]) {
    await tar.add({ name: `blobs/sha256/${digestHex(digest)}`, type: 'file', mode: 0o644 }, await store.readBlob(digest));
    written.add(digest);
  }
  for (const layer of record.layers) {
    if (written.has(layer.blob)) continue;
    written.add(layer.blob);
    await tar.add({ name: `blobs/sha256/${digestHex(layer.blob)}`, type: 'file', mode: 0o644, size: layer.blobSize }, store.blobPath(layer.blob));
  }
  await tar.finish();
}
