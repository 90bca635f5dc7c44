/** Helpers for the image tests: tar archives built in memory, OCI layouts and docker save archives. */
import * as fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import { MEDIA, OciImageConfig, sha256 } from './oci';
import { TarWriteHeader, TarWriter } from '@tide/tar';

export type TestEntry = TarWriteHeader & { body?: string | Buffer };

export async function tarBytes(entries: TestEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const tar = new TarWriter(async (chunk) => {
    chunks.push(Buffer.from(chunk));
  });
  for (const { body, ...header } of entries) {
    const data = body === undefined ? undefined : Buffer.from(body);
    await tar.add({ ...header, ...(data ? { size: data.length } : {}) }, data);
  }
  await tar.finish();
  return Buffer.concat(chunks);
}

export const file = (name: string, body: string | Buffer, mode = 0o644): TestEntry => ({ name, type: 'file', mode, body });
export const dir = (name: string, mode = 0o755): TestEntry => ({ name, type: 'directory', mode });
export const symlink = (name: string, linkname: string): TestEntry => ({ name, type: 'symlink', mode: 0o777, linkname });

export function imageConfig(layers: Buffer[], cmd = ['sh']): Buffer {
  const config: OciImageConfig = {
    architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: cmd },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) },
  };
  return Buffer.from(JSON.stringify(config));
}

/** An OCI image layout archive: layers gzip-compressed, the ref in the index's annotations. */
export async function ociArchive(layers: Buffer[], annotations: Record<string, string>, options: { corruptLayer?: number } = {}): Promise<Buffer> {
  const config = imageConfig(layers);
  const blobs = layers.map((l) => gzipSync(l));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: sha256(config), size: config.length },
    layers: blobs.map((b) => ({ mediaType: MEDIA.layerGzip, digest: sha256(b), size: b.length })),
  }));
  // A nested index, as multi-platform images have.
  const inner = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.index,
    manifests: [{ mediaType: MEDIA.manifest, digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
  }));
  const index = { schemaVersion: 2, manifests: [{ mediaType: MEDIA.index, digest: sha256(inner), size: inner.length, annotations }] };
  const stored = blobs.map((b, i) => (i === options.corruptLayer ? gzipSync(Buffer.concat([layers[i].subarray(0, 1024), Buffer.alloc(1024)])) : b));
  return tarBytes([
    file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
    file('index.json', JSON.stringify(index)),
    dir('blobs'), dir('blobs/sha256'),
    ...[inner, manifest, config, ...stored].map((b, i) => file(`blobs/sha256/${sha256([inner, manifest, config, ...blobs][i]).slice(7)}`, b)),
  ]);
}

export function writeTemp(dir: string, name: string, data: Buffer): string {
  const target = `${dir}/${name}`;
  fs.writeFileSync(target, data);
  return target;
}
