/**
 * The members of an image archive (OCI layout or `docker save`), extracted into a scratch directory
 * under names of our own: archive names are only map keys, never paths we write to. Symlinks and
 * hard links between members (old `docker save` links identical layers) resolve to other members.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageError } from './image.types';
import { cleanEntryPath } from './layer.unpack';
import { ByteSource, gunzipIfCompressed, readTar, TarError } from '@tide/tar';

export class ArchiveFiles {
  private constructor(
    private readonly label: string,
    private readonly files: Map<string, string>,
  ) {}

  static async extract(archive: string, scratch: string): Promise<ArchiveFiles> {
    const label = path.basename(archive);
    const files = new Map<string, string>();
    const links = new Map<string, string>();
    const bytes = new ByteSource(gunzipIfCompressed(fs.createReadStream(archive, { highWaterMark: 1 << 20 }))[Symbol.asyncIterator]());
    try {
      for await (const entry of readTar(bytes)) {
        const rel = memberName(label, entry.name);
        if (entry.type === 'file') {
          const file = path.join(scratch, `member-${files.size}`);
          const handle = await fs.promises.open(file, 'wx');
          try {
            for await (const chunk of entry.body) await handle.write(chunk);
          } finally {
            await handle.close();
          }
          files.set(rel, file);
        } else if (entry.type === 'symlink') {
          if (entry.linkname.startsWith('/')) throw new ImageError('Invalid', `${label}: member "${entry.name}" links outside the archive`);
          links.set(rel, memberName(label, path.posix.join(path.posix.dirname(rel), entry.linkname), entry.name));
        } else if (entry.type === 'hardlink') {
          links.set(rel, memberName(label, entry.linkname, entry.name));
        } else if (entry.type !== 'directory') {
          throw new ImageError('Invalid', `${label}: member "${entry.name}" is a ${entry.type}; image archives hold files and directories`);
        }
      }
    } catch (error) {
      if (error instanceof TarError) throw new ImageError('Invalid', `${label}: ${error.message}`);
      if (error instanceof ImageError) throw error;
      throw new ImageError('Invalid', `${label}: not a readable tar archive: ${(error as Error).message}`);
    }
    for (const [name, target] of links) {
      let resolved = target;
      for (let hops = 0; !files.has(resolved) && links.has(resolved) && hops < 16; hops++) resolved = links.get(resolved)!;
      const file = files.get(resolved);
      if (file) files.set(name, file);
    }
    return new ArchiveFiles(label, files);
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  /** The scratch file holding a member; an error naming the member when the archive lacks it. */
  path(name: string, what: string): string {
    const file = this.files.get(name);
    if (!file) throw new ImageError('Invalid', `${this.label}: ${what} "${name}" is missing from the archive`);
    return file;
  }

  async read(name: string, what: string): Promise<Buffer> {
    return fs.promises.readFile(this.path(name, what));
  }

  async json<T>(name: string, what: string): Promise<T> {
    const data = await this.read(name, what);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch (error) {
      throw new ImageError('Invalid', `${this.label}: ${what} "${name}" is not valid JSON: ${(error as Error).message}`);
    }
  }

  get name(): string {
    return this.label;
  }
}

function memberName(label: string, name: string, original = name): string {
  try {
    return cleanEntryPath(name);
  } catch (error) {
    throw new ImageError('Invalid', `${label}: member "${original}" refused: ${(error as Error).message}`);
  }
}
