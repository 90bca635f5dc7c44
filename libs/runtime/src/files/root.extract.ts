/**
 * Extracts a tar into a directory of a container (the PUT of `tsctl cp` and `docker cp` into a
 * replica). Each entry's parent is resolved from the container's root (container.root.ts: symlinks
 * stay inside it), missing parents are made; the entry itself is made with calls that never follow
 * a symlink in its place, and its mode, owner and time are set through an fd of what was made.
 * Refused, naming the entry: a name whose `..` leaves the directory, device nodes (a node of the
 * host's disk would hand the container the disk), replacing a directory with a non-directory or
 * the reverse (Docker's noOverwriteDirNonDir, always on). Files belong to root unless `keepOwners`
 * (docker cp -a) takes the archive's owners.
 */
import * as fs from 'node:fs';
import { S_IFIFO } from '@tide/syscall';
import { TarEntry, TarError } from '@tide/tar';
import { entryParts, joinPath } from './container.path';
import { ContainerRoot, below } from './container.root';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fs.constants;

export interface ExtractOptions {
  /** Owners as the archive has them; otherwise root (0:0), which made them. */
  keepOwners: boolean;
}

/** `directory`: an absolute path in the container, checked to be a directory by the caller. Resolves with the entries written. */
export async function extractInto(root: ContainerRoot, directory: string, entries: AsyncIterable<TarEntry>, options: ExtractOptions): Promise<number> {
  let count = 0;
  for await (const entry of entries) {
    const parts = entryParts(entry.name);
    if (parts.length === 0) continue; // "./": the directory itself, which exists
    const parent = openParent(root, directory, parts.slice(0, -1));
    const path = joinPath(directory, parts);
    try {
      await writeEntry({ root, directory, parent, name: parts.at(-1)!, path, options }, entry);
    } catch (error) {
      throw error instanceof TarError ? error : root.failure(error, path);
    } finally {
      fs.closeSync(parent);
    }
    count++;
  }
  return count;
}

interface Place {
  root: ContainerRoot;
  directory: string;
  /** O_PATH fd of the entry's parent directory. */
  parent: number;
  name: string;
  /** The entry's path in the container, for messages. */
  path: string;
  options: ExtractOptions;
}

async function writeEntry(place: Place, entry: TarEntry): Promise<void> {
  const at = below(place.parent, place.name);
  const existing = lstatOrUndefined(at);
  if (entry.type === 'directory') {
    if (existing && !existing.isDirectory()) throw new TarError(`entry "${entry.name}": cannot overwrite non-directory ${place.path} with a directory`);
    if (!existing) fs.mkdirSync(at, 0o700);
    return settle(place, entry, fs.openSync(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
  }
  if (existing?.isDirectory()) throw new TarError(`entry "${entry.name}": cannot overwrite directory ${place.path} with a non-directory`);
  if (existing) fs.unlinkSync(at);
  switch (entry.type) {
    case 'file':
      return writeFile(place, entry, at);
    case 'symlink':
      fs.symlinkSync(entry.linkname, at);
      if (place.options.keepOwners) fs.lchownSync(at, entry.uid, entry.gid);
      return fs.lutimesSync(at, entry.mtime, entry.mtime);
    case 'hardlink':
      return linkTo(place, entry, at);
    case 'fifo':
      place.root.sys.mknod(at, S_IFIFO | 0o600, 0, 0);
      return settle(place, entry, fs.openSync(at, O_RDONLY | O_NOFOLLOW | fs.constants.O_NONBLOCK));
    default:
      throw new TarError(`entry "${entry.name}": device nodes are not copied into containers`);
  }
}

async function writeFile(place: Place, entry: TarEntry, at: string): Promise<void> {
  // O_EXCL: the name was just unlinked; should a symlink appear there meanwhile, the open fails instead of following it.
  const fd = fs.openSync(at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    for await (const chunk of entry.body) await writeAll(fd, chunk);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  settle(place, entry, fd);
}

/** A hard link to an entry extracted earlier into the same directory (its name is relative to it too). */
function linkTo(place: Place, entry: TarEntry, at: string): void {
  const source = entryParts(entry.linkname);
  if (source.length === 0) throw new TarError(`entry "${entry.name}": a hard link to the destination directory itself`);
  const sourceParent = openParent(place.root, place.directory, source.slice(0, -1));
  try {
    fs.linkSync(below(sourceParent, source.at(-1)!), at); // link(2) does not follow a symlink it is given
  } catch (error) {
    throw place.root.failure(error, joinPath(place.directory, source));
  } finally {
    fs.closeSync(sourceParent);
  }
}

/** Mode, owner and time through the fd of what was made, then closes it. */
function settle(place: Place, entry: TarEntry, fd: number): void {
  try {
    if (place.options.keepOwners) fs.fchownSync(fd, entry.uid, entry.gid);
    fs.fchmodSync(fd, entry.mode & 0o7777); // after the chown, which clears setuid bits
    if (entry.mtime > 0) fs.futimesSync(fd, entry.mtime, entry.mtime);
  } finally {
    fs.closeSync(fd);
  }
}

/** The directory `parts` below `directory`, made (0755, root's) where it is missing, as `docker cp` does. */
function openParent(root: ContainerRoot, directory: string, parts: string[]): number {
  let fd = root.open(directory, { directory: true });
  for (let i = 0; i < parts.length; i++) {
    const next = joinPath(directory, parts.slice(0, i + 1));
    try {
      fs.mkdirSync(below(fd, parts[i]), 0o755);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        fs.closeSync(fd);
        throw root.failure(error, next);
      }
    }
    fs.closeSync(fd);
    fd = root.open(next, { directory: true }); // from the root again: an existing symlink is followed inside it
  }
  return fd;
}

function lstatOrUndefined(at: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(at);
  } catch {
    return undefined;
  }
}

async function writeAll(fd: number, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    offset += await new Promise<number>((resolve, reject) => fs.write(fd, chunk, offset, chunk.length - offset, null, (error, n) => (error ? reject(error) : resolve(n))));
  }
}
