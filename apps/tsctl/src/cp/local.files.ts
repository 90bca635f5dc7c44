/**
 * The local side of `tsctl cp`: a local path packed into a tar (its top entry named as the copy plan
 * says; symlinks kept as symlinks, sockets and devices left out), and the stat of a destination.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { TarWriter, streamSink } from '@tide/tar';

/** A tar of `source` as a stream; its top entry is `topName` ("." for a directory's contents). */
export function packLocal(source: string, topName: string): Readable {
  const out = new PassThrough();
  const writer = new TarWriter(streamSink(out));
  addLocal(writer, source, topName).then(() => writer.finish()).then(() => out.end(), (error: Error) => out.destroy(error));
  return out;
}

async function addLocal(writer: TarWriter, file: string, name: string): Promise<void> {
  const stat = await fs.promises.lstat(file);
  const header = { name, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: Math.floor(stat.mtimeMs / 1000) };
  if (stat.isDirectory()) {
    await writer.add({ ...header, type: 'directory' });
    const prefix = name === '.' ? '' : `${name}/`;
    for (const child of (await fs.promises.readdir(file)).sort()) await addLocal(writer, path.join(file, child), `${prefix}${child}`);
  } else if (stat.isSymbolicLink()) {
    await writer.add({ ...header, type: 'symlink', linkname: await fs.promises.readlink(file) });
  } else if (stat.isFile()) {
    await writer.add({ ...header, type: 'file', size: stat.size }, file);
  }
}

/** A local destination as the copy plan needs it (a symlink followed, as cp does). */
export async function localDestination(file: string): Promise<{ path: string; exists: boolean; isDirectory: boolean }> {
  const stat = await fs.promises.stat(file).catch(() => undefined);
  return { path: file, exists: stat !== undefined, isDirectory: stat?.isDirectory() ?? false };
}
