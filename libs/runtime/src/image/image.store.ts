/**
 * A content-addressed image store on the node: unpacked layers under layers/sha256/<hex>, image
 * manifests under images/<name>/<tag>.json. Layers are written to a temporary directory and renamed
 * into place, so a layer is either complete or absent.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../runtime.types';

export interface ImageConfig {
  env: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
}

export interface ImageManifest {
  /** Layer digests ("sha256:<hex>"), lowest first. */
  layers: string[];
  config: ImageConfig;
}

export interface ResolvedImage {
  ref: string;
  /** Unpacked layer directories, lowest first. */
  layerDirs: string[];
  config: ImageConfig;
}

export function parseImageRef(ref: string): { name: string; tag: string } {
  const at = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  if (at > slash) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  return { name: ref, tag: 'latest' };
}

export class ImageStore {
  constructor(readonly imageDir: string) {}

  layerDir(digest: string): string {
    return path.join(this.imageDir, 'layers', digest.replace(':', '/'));
  }

  private manifestPath(ref: string): string {
    const { name, tag } = parseImageRef(ref);
    return path.join(this.imageDir, 'images', name, `${tag}.json`);
  }

  has(ref: string): boolean {
    return fs.existsSync(this.manifestPath(ref));
  }

  async resolve(ref: string): Promise<ResolvedImage> {
    let manifest: ImageManifest;
    try {
      manifest = JSON.parse(await fs.promises.readFile(this.manifestPath(ref), 'utf8')) as ImageManifest;
    } catch {
      const { name, tag } = parseImageRef(ref);
      throw new RuntimeError('ImageNotFound', `image "${name}:${tag}" not found on this node (import or build it first)`);
    }
    const layerDirs = manifest.layers.map((digest) => this.layerDir(digest));
    for (const dir of layerDirs) {
      if (!fs.existsSync(dir)) throw new RuntimeError('ImageNotFound', `image "${ref}" is missing its layer ${dir}`);
    }
    return { ref, layerDirs, config: manifest.config };
  }

  /**
   * Adds a layer from a directory the caller filled (in imageDir/tmp), under its content digest.
   * Returns the digest; an identical layer already present is reused and the new copy discarded.
   */
  async commitLayer(stagingDir: string): Promise<string> {
    const digest = `sha256:${await digestTree(stagingDir)}`;
    const target = this.layerDir(digest);
    if (fs.existsSync(target)) {
      await fs.promises.rm(stagingDir, { recursive: true, force: true });
    } else {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.rename(stagingDir, target);
    }
    return digest;
  }

  async writeManifest(ref: string, manifest: ImageManifest): Promise<void> {
    const file = this.manifestPath(ref);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.promises.writeFile(tmp, JSON.stringify(manifest, null, 2));
    await fs.promises.rename(tmp, file);
  }

  async stagingDir(): Promise<string> {
    await fs.promises.mkdir(path.join(this.imageDir, 'tmp'), { recursive: true });
    return fs.promises.mkdtemp(path.join(this.imageDir, 'tmp', 'layer-'));
  }
}

/** sha256 over a sorted listing of (path, type, mode, content or link target) of a directory tree. */
export async function digestTree(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const entries = (await fs.promises.readdir(dir)).sort();
    for (const name of entries) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const stat = await fs.promises.lstat(full);
      hash.update(`${rel}\0${stat.mode}\0`);
      if (stat.isSymbolicLink()) hash.update(`link:${await fs.promises.readlink(full)}\0`);
      else if (stat.isFile()) hash.update(await fs.promises.readFile(full));
      else if (stat.isDirectory()) await walk(full);
    }
  };
  await walk(root);
  return hash.digest('hex');
}
