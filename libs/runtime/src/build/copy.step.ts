/**
 * The layer of a COPY or ADD step: context files under the destination, with their modes and times,
 * owned by root or by --chown; ADD extracts a local tar archive (plain or gzip) into the destination
 * as Docker does. Each entry name is cleaned; the layer then goes through the store's safe unpacking.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sys } from '@tide/syscall';
import { ImageError } from '../image/image.types';
import { cleanEntryPath } from '../image/layer.unpack';
import { ByteSource, gunzipIfCompressed, readTar, TarWriter } from '@tide/tar';
import { BuildContext } from './build.context';
import { statMerged } from './merged.view';

export interface CopyStep {
  add: boolean;
  sources: string[];
  /** Absolute path in the image. */
  dest: string;
  /** Whether dest names a directory (trailing slash, several sources, or a directory already). */
  chown?: string;
  where: string;
}

export async function writeCopyLayer(sys: Sys, context: BuildContext, layerDirs: string[], step: CopyStep, tar: TarWriter): Promise<void> {
  const owner = parseChown(step.chown, step.where);
  const sources = (await Promise.all(step.sources.map((s) => context.resolve(s, step.where)))).flat();
  const destRel = cleanEntryPath(step.dest.replace(/^\/+/, ''));
  const destIsDir = step.dest.endsWith('/') || sources.length > 1 || statMerged(sys, layerDirs, destRel)?.isDirectory() === true;
  const written = new Set<string>();
  const parents = async (rel: string) => {
    const parts = rel.split('/').filter(Boolean);
    for (let k = 1; k < parts.length; k++) await addDir(parts.slice(0, k).join('/'));
  };
  // Parents keep the metadata they have in the image; a new one is root's, 0755.
  const addDir = async (rel: string) => {
    if (written.has(rel) || rel === '') return;
    written.add(rel);
    const existing = statMerged(sys, layerDirs, rel);
    const meta = existing?.isDirectory()
      ? { mode: existing.mode & 0o7777, uid: existing.uid, gid: existing.gid, mtime: Math.floor(existing.mtimeMs / 1000) }
      : { mode: 0o755, ...owner };
    await tar.add({ name: rel, type: 'directory', ...meta });
  };
  for (const source of sources) {
    for await (const { rel, abs, stat } of context.walk(source)) {
      if (step.add && rel === '' && stat.isFile() && (await isTarArchive(abs))) {
        await parents(`${destRel}/x`);
        await addDir(destRel);
        await extractInto(abs, destRel, tar, step.where);
        continue;
      }
      const base = rel === '' ? (stat.isDirectory() ? '' : path.posix.basename(source)) : rel;
      const target = rel === '' && !stat.isDirectory() && !destIsDir ? destRel : [destRel, base].filter(Boolean).join('/');
      await parents(target);
      const meta = { mode: stat.mode & 0o7777, ...owner, mtime: Math.floor(stat.mtimeMs / 1000) };
      if (stat.isDirectory()) {
        if (!written.has(target)) await tar.add({ name: target || '.', type: 'directory', ...meta });
        written.add(target);
      } else if (stat.isSymbolicLink()) await tar.add({ name: target, type: 'symlink', ...meta, linkname: await fs.promises.readlink(abs) });
      else if (stat.isFile()) await tar.add({ name: target, type: 'file', ...meta, size: stat.size }, abs);
      else throw new ImageError('Invalid', `${step.where}: "${path.relative(context.root, abs)}" is not a file, directory or symlink`);
    }
  }
}

/** Numeric "uid[:gid]" only: names would need the image's /etc/passwd at build time. */
function parseChown(chown: string | undefined, where: string): { uid: number; gid: number } {
  if (chown === undefined) return { uid: 0, gid: 0 };
  const match = /^(\d+)(?::(\d+))?$/.exec(chown);
  if (!match) throw new ImageError('Invalid', `${where}: --chown=${chown}: only numeric uid[:gid] is supported`);
  return { uid: Number(match[1]), gid: Number(match[2] ?? match[1]) };
}

/** A tar (plain or gzip-compressed): the ustar magic in the first header. */
async function isTarArchive(file: string): Promise<boolean> {
  const stream = fs.createReadStream(file);
  try {
    const block = await new ByteSource(gunzipIfCompressed(stream)[Symbol.asyncIterator]()).read(512);
    return block.length === 512 && block.subarray(257, 262).toString('latin1') === 'ustar';
  } catch {
    return false;
  } finally {
    stream.destroy();
  }
}

/** Re-emits the archive's entries under destRel; names that climb out or devices are refused. */
async function extractInto(archive: string, destRel: string, tar: TarWriter, where: string): Promise<void> {
  const under = (name: string) => {
    try {
      return [destRel, cleanEntryPath(name)].filter(Boolean).join('/');
    } catch (error) {
      throw new ImageError('Invalid', `${where}: ${path.basename(archive)}: entry "${name}" refused: ${(error as Error).message}`);
    }
  };
  const bytes = new ByteSource(gunzipIfCompressed(fs.createReadStream(archive))[Symbol.asyncIterator]());
  for await (const entry of readTar(bytes)) {
    if (entry.type === 'chardev' || entry.type === 'blockdev') {
      throw new ImageError('Invalid', `${where}: ${path.basename(archive)}: entry "${entry.name}" is a device node`);
    }
    const name = under(entry.name);
    const linkname = entry.type === 'hardlink' ? under(entry.linkname) : entry.linkname;
    await tar.add({ ...entry, name: name || '.', linkname, mtime: entry.mtime }, entry.body);
  }
}
