/**
 * The node's content store, containerd style, in one directory that several agents may share:
 *   blobs/sha256/<hex>          layer blobs as imported (plain or gzip), configs, manifests
 *   layers/sha256/<diffID hex>  unpacked layers (overlay lowerdirs), <hex>.json beside each: its size
 *   images/<ref, URI-encoded>.json  one record per name:tag (manifest, config = image ID, layers)
 *   build-cache/, tmp/, lock
 * Every write is a temporary file or directory renamed into place, so readers (other agents too) see
 * a layer, blob or record complete or not at all; identical content written twice is one copy.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sys, linuxSys } from '@tide/syscall';
import { RuntimeError } from '../runtime.types';
import { ImageError } from './image.types';
import { ExpectedDigests, unpackLayer } from './layer.unpack';
import { mountedLowerDirs } from './mounted.layers';
import { StoreLock } from './store.lock';
import { ImageConfig, MEDIA, OciImageConfig, OciManifest, digestHex, formatRef, parseRef, runtimeConfig, sha256 } from './oci';

export { ImageConfig } from './oci';

export interface StoredLayer {
  diffID: string;
  /** Digest of the blob as stored (compressed or not). */
  blob: string;
  mediaType: string;
  blobSize: number;
  /** Bytes of file content once unpacked. */
  size: number;
}

export interface ImageRecord {
  ref: string;
  manifest: string;
  manifestMediaType: string;
  manifestSize: number;
  /** The config's digest: the image ID. */
  config: string;
  layers: StoredLayer[];
  created?: string;
}

export interface ResolvedImage {
  ref: string;
  /** Unpacked layer directories, lowest first. */
  layerDirs: string[];
  config: ImageConfig;
}

/** What the runtime asks of the image store (LinuxRuntimeOptions.images: tests may pass a fake). */
export interface ImageResolver {
  /** The store's directory: a build step's explicit layers must lie under its `layers/`. */
  readonly imageDir: string;
  /** The image's layer directories and config; RuntimeError ImageNotFound when it is not here. */
  resolve(ref: string): Promise<ResolvedImage>;
}

export class ImageStore implements ImageResolver {
  /** Held shared by imports and builds, exclusively by garbage collection. */
  readonly lock: StoreLock;
  /** The last listing and the directory's times it was made under (list()). */
  private listed?: { mtimeMs: number; ctimeMs: number; records: ImageRecord[] };

  constructor(
    readonly imageDir: string,
    readonly sys: Sys = linuxSys(),
  ) {
    this.lock = new StoreLock(sys, path.join(imageDir, 'lock'));
  }

  blobPath(digest: string): string {
    return path.join(this.imageDir, 'blobs/sha256', digestHex(digest));
  }

  layerDir(diffID: string): string {
    return path.join(this.imageDir, 'layers/sha256', digestHex(diffID, 'diffID'));
  }

  /** The record of `ref` (its mtime: when the image arrived or was last tagged). */
  recordFile(ref: string): string {
    return path.join(this.imageDir, 'images', `${encodeURIComponent(formatRef(parseRef(ref)))}.json`);
  }

  has(ref: string): boolean {
    return fs.existsSync(this.recordFile(ref));
  }

  async record(ref: string): Promise<ImageRecord | undefined> {
    const text = await fs.promises.readFile(this.recordFile(ref), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ImageRecord);
  }

  /** On every container start: two small files read synchronously, which takes a tenth of the time
   *  of two trips through libuv's thread pool (the start benchmark's breakdown shows it). */
  async resolve(ref: string): Promise<ResolvedImage> {
    const normal = formatRef(parseRefOr(ref));
    const record = readJson<ImageRecord>(this.recordFile(normal));
    if (!record) throw new RuntimeError('ImageNotFound', `image "${normal}" not found on this node (import or build it first)`);
    const layerDirs = record.layers.map((layer) => this.layerDir(layer.diffID));
    for (const dir of layerDirs) {
      if (!fs.existsSync(dir)) throw new RuntimeError('ImageNotFound', `image "${normal}" is missing its layer ${dir}`);
    }
    const config = readJson<OciImageConfig>(this.blobPath(record.config));
    if (!config) throw new RuntimeError('ImageNotFound', `image "${normal}" is missing its config ${record.config}`);
    return { ref: normal, layerDirs, config: runtimeConfig(config) };
  }

  async readConfig(digest: string): Promise<OciImageConfig> {
    return JSON.parse((await this.readBlob(digest)).toString('utf8')) as OciImageConfig;
  }

  async readBlob(digest: string): Promise<Buffer> {
    return fs.promises.readFile(this.blobPath(digest));
  }

  async writeBlob(data: Buffer): Promise<string> {
    const digest = sha256(data);
    const file = this.blobPath(digest);
    if (!fs.existsSync(file)) await this.writeAtomic(file, data);
    return digest;
  }

  /** A fresh directory in the store's tmp/ (same filesystem, so it can be renamed into place). */
  async tempDir(prefix: string): Promise<string> {
    await fs.promises.mkdir(path.join(this.imageDir, 'tmp'), { recursive: true });
    return fs.promises.mkdtemp(path.join(this.imageDir, 'tmp', `${prefix}-`));
  }

  /**
   * The one way a layer enters the store: the blob is unpacked into a staging directory, its
   * digests verified, then the directory and the blob are renamed into place. `file` is consumed
   * (moved into blobs/ or deleted). A layer already present with the expected digests is not unpacked again.
   */
  async addLayer(file: string, expected: ExpectedDigests, label: string): Promise<StoredLayer> {
    if (expected.diffID && expected.blobDigest) {
      const present = await this.presentLayer(expected.diffID, expected.blobDigest);
      if (present) {
        await fs.promises.rm(file, { force: true });
        return present;
      }
    }
    return this.admitLayer(fs.createReadStream(file, { highWaterMark: 1 << 20 }), file, expected, label);
  }

  /**
   * A layer as it arrives (a download under way): unpacked while `incoming` streams, its bytes written
   * to `file` on the way (the blob kept for pushes and peers, readable by them while it grows), so the
   * layer is ready moments after its last byte instead of a second pass later. Same checks and the
   * same all-or-nothing end as addLayer; on failure `file` is removed.
   */
  async receiveLayer(incoming: AsyncIterable<Buffer>, file: string, expected: ExpectedDigests, label: string): Promise<StoredLayer> {
    const out = fs.createWriteStream(file, { mode: 0o644, highWaterMark: 1 << 20 });
    out.on('error', () => undefined); // seen by the copy (out.errored, a rejected drain or end)
    try {
      return await this.admitLayer(copying(incoming, out), file, expected, label);
    } catch (error) {
      out.destroy();
      await closed(out);
      await fs.promises.rm(file, { force: true });
      throw error;
    }
  }

  private async admitLayer(source: AsyncIterable<Buffer>, file: string, expected: ExpectedDigests, label: string): Promise<StoredLayer> {
    const staging = await this.tempDir('unpack');
    try {
      const unpacked = await unpackLayer(this.sys, source, staging, expected, label);
      const layer: StoredLayer = {
        diffID: unpacked.diffID, blob: unpacked.blobDigest, mediaType: unpacked.compressed ? MEDIA.layerGzip : MEDIA.layer,
        blobSize: (await fs.promises.stat(file)).size, size: unpacked.size,
      };
      const target = this.layerDir(layer.diffID);
      await this.writeAtomic(`${target}.json`, Buffer.from(JSON.stringify({ size: layer.size })));
      await renameOrDiscard(staging, target);
      await moveFile(file, this.blobPath(layer.blob));
      return layer;
    } finally {
      await fs.promises.rm(staging, { recursive: true, force: true });
    }
  }

  private async presentLayer(diffID: string, blob: string): Promise<StoredLayer | undefined> {
    const dir = this.layerDir(diffID);
    const stat = await fs.promises.stat(this.blobPath(blob)).catch(() => undefined);
    if (!stat || !fs.existsSync(dir)) return undefined;
    const meta = await fs.promises.readFile(`${dir}.json`, 'utf8').then((t) => JSON.parse(t) as { size: number }).catch(() => ({ size: 0 }));
    const compressed = (await readHead(this.blobPath(blob), 2)).equals(Buffer.from([0x1f, 0x8b]));
    return { diffID, blob, mediaType: compressed ? MEDIA.layerGzip : MEDIA.layer, blobSize: stat.size, size: meta.size };
  }

  /** Writes the manifest and config blobs and the record of `ref`; every layer must be in the store. */
  async commit(ref: string, image: { manifest: Buffer; manifestMediaType: string; config: Buffer; layers: StoredLayer[] }): Promise<ImageRecord> {
    const name = formatRef(parseRef(ref));
    for (const layer of image.layers) {
      if (!fs.existsSync(this.layerDir(layer.diffID)) || !fs.existsSync(this.blobPath(layer.blob))) {
        throw new ImageError('Invalid', `image ${name}: layer ${layer.diffID} is not in the store`);
      }
    }
    const config = await this.writeBlob(image.config);
    const manifest = await this.writeBlob(image.manifest);
    const created = (JSON.parse(image.config.toString('utf8')) as OciImageConfig).created;
    const record: ImageRecord = {
      ref: name, manifest, manifestMediaType: image.manifestMediaType, manifestSize: image.manifest.length, config,
      layers: image.layers, ...(created ? { created } : {}),
    };
    await this.writeAtomic(this.recordFile(name), Buffer.from(JSON.stringify(record, null, 2)));
    return record;
  }

  /** Commits an image made here (base image, build): an OCI manifest over the config and layers. */
  async commitConfig(ref: string, config: OciImageConfig, layers: StoredLayer[]): Promise<ImageRecord> {
    const configBytes = Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) } }));
    const manifest: OciManifest = {
      schemaVersion: 2, mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: sha256(configBytes), size: configBytes.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.blob, size: l.blobSize })),
    };
    return this.commit(ref, { manifest: Buffer.from(JSON.stringify(manifest)), manifestMediaType: MEDIA.manifest, config: configBytes, layers });
  }

  /**
   * Every image record. The agent asks at every heartbeat (its images, for the scheduler): the
   * records are read again only when the directory changed, and every change to a record is one to
   * the directory (a file renamed in, or unlinked, by whichever agent sharing the store).
   */
  async list(): Promise<ImageRecord[]> {
    const dir = path.join(this.imageDir, 'images');
    // Taken before the reading: a change made meanwhile leaves a newer stamp, so the next call reads again.
    const stamp = await fs.promises.stat(dir).then((s) => ({ mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs }), () => undefined);
    const cached = this.listed;
    if (stamp && cached && cached.mtimeMs === stamp.mtimeMs && cached.ctimeMs === stamp.ctimeMs) return [...cached.records];
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    const records: ImageRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const text = await fs.promises.readFile(path.join(dir, name), 'utf8').catch(() => undefined);
      const record = text ? (JSON.parse(text) as Partial<ImageRecord>) : undefined;
      if (record?.manifest && record.layers) records.push(record as ImageRecord); // older formats are ignored
    }
    // A file's times move in coarse ticks: another change within the tick of this stamp would not
    // move it, so a directory changed less than a second ago is not cached (git's racy index rule).
    this.listed = stamp && Date.now() - stamp.mtimeMs > RACY_STAMP_MS ? { ...stamp, records } : undefined;
    return [...records];
  }

  /** `target` names the image `source` names (a new record over the same manifest, config and layers), as `docker tag`. */
  async tag(source: string, target: string): Promise<ImageRecord> {
    const record = await this.record(source);
    if (!record) throw new ImageError('NotFound', `image "${formatRef(parseRef(source))}" not found on this node`);
    const name = formatRef(parseRef(target));
    const tagged: ImageRecord = { ...record, ref: name };
    await this.writeAtomic(this.recordFile(name), Buffer.from(JSON.stringify(tagged, null, 2)));
    return tagged;
  }

  /** Removes the tag only; false when there was none. */
  async untag(ref: string): Promise<boolean> {
    try {
      await fs.promises.unlink(this.recordFile(ref));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Deletes layers and blobs no image references and no running container has mounted, and the
   * debris of interrupted imports in tmp/. Only when nobody imports or builds (see StoreLock);
   * otherwise it returns undefined and the next collection does the work.
   */
  async collectGarbage(): Promise<{ layers: number; blobs: number } | undefined> {
    return this.lock.tryExclusive(async () => {
      const records = await this.list();
      const blobs = new Set(records.flatMap((r) => [r.manifest, r.config, ...r.layers.map((l) => l.blob)].map((d) => digestHex(d))));
      const layers = new Set(records.flatMap((r) => r.layers.map((l) => digestHex(l.diffID))));
      for (const dir of mountedLowerDirs()) {
        if (path.dirname(dir) === path.join(this.imageDir, 'layers/sha256')) layers.add(path.basename(dir));
      }
      await fs.promises.rm(path.join(this.imageDir, 'tmp'), { recursive: true, force: true });
      return { layers: await this.removeUnlisted('layers/sha256', layers), blobs: await this.removeUnlisted('blobs/sha256', blobs) };
    });
  }

  private async removeUnlisted(sub: string, keep: Set<string>): Promise<number> {
    const dir = path.join(this.imageDir, sub);
    let removed = 0;
    for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
      if (keep.has(name.replace(/\.json$/, ''))) continue;
      // Renamed away first, so that no reader ever sees a half-deleted layer under its digest.
      const doomed = path.join(dir, `.gc-${name}-${randomBytes(4).toString('hex')}`);
      await fs.promises.rename(path.join(dir, name), doomed);
      await fs.promises.rm(doomed, { recursive: true, force: true });
      if (!name.endsWith('.json')) removed++;
    }
    return removed;
  }

  async writeAtomic(file: string, data: Buffer): Promise<void> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  }
}

/** How old a directory's modification time must be for a listing made under it to be reused (list()). */
const RACY_STAMP_MS = 1000;

function parseRefOr(ref: string) {
  try {
    return parseRef(ref);
  } catch (error) {
    throw new RuntimeError('ImageNotFound', (error as Error).message);
  }
}

/** Renames a finished directory into place; when another writer was first, its copy wins (same content). */
async function renameOrDiscard(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(to), { recursive: true });
  try {
    await fs.promises.rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  }
}

/** Moves a file into place (copying across filesystems); an existing target has the same content. */
export async function moveFile(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(to), { recursive: true });
  if (fs.existsSync(to)) return fs.promises.rm(from, { force: true });
  try {
    await fs.promises.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const tmp = `${to}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    await fs.promises.copyFile(from, tmp);
    await fs.promises.rename(tmp, to);
    await fs.promises.rm(from, { force: true });
  }
}

/** Passes chunks through while writing them to `out`, which is ended (and flushed) with the last one. */
async function* copying(source: AsyncIterable<Buffer>, out: fs.WriteStream): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (out.errored) throw out.errored;
    if (!out.write(chunk)) await once(out, 'drain');
    yield chunk;
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** A write stream's file is opened asynchronously: once closed, a late open can no longer bring back a removed file. */
async function closed(out: fs.WriteStream): Promise<void> {
  if (!out.closed) await once(out, 'close').catch(() => undefined);
}

async function readHead(file: string, n: number): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buffer, 0, n, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Undefined when missing or unreadable (a record half-written by hand, say): the image is not there. */
function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
