/**
 * Unpacks an untrusted archive into a local directory: a build context (a tar stream from tsctl,
 * docker or `tar -c`) on the agent, which runs as root; what `tsctl cp` copies out of a replica on
 * the user's machine. The archive is untrusted input: only regular files, directories, symlinks and
 * hard links to earlier entries are accepted; an entry with an absolute path or a `..` component, an
 * entry under a symlink it created, and device nodes or FIFOs are refused with a TarError naming the
 * entry. Nothing is ever written through a symlink (existing paths are unlinked, files opened with
 * O_NOFOLLOW). `rename` maps the archive's names first (tsctl cp gives a copied directory the name
 * of its destination).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ByteSource } from './byte.source';
import { TarEntry, TarError, readTar } from './tar.reader';

export interface ExtractTarOptions {
  rename?(name: string): string;
}

export async function extractTar(input: AsyncIterable<Buffer | string | Uint8Array>, dir: string, options: ExtractTarOptions = {}): Promise<number> {
  let count = 0;
  const rename = options.rename ?? ((name: string) => name);
  for await (const entry of readTar(new ByteSource(buffers(input)[Symbol.asyncIterator]()))) {
    await writeEntry({ ...entry, name: rename(entry.name), linkname: entry.type === 'hardlink' ? rename(entry.linkname) : entry.linkname }, dir);
    count++;
  }
  return count;
}

async function* buffers(input: AsyncIterable<Buffer | string | Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of input) yield Buffer.from(chunk);
}

async function writeEntry(entry: TarEntry, dir: string): Promise<void> {
  const relative = safeRelative(entry.name);
  if (relative === '') return; // "./" itself
  const target = path.join(dir, relative);
  await refuseSymlinkParents(dir, relative, entry.name);
  await removeNonDirectory(target);
  const mode = entry.mode & 0o777; // no setuid/setgid bits from an uploaded context
  switch (entry.type) {
    case 'directory':
      await fs.promises.mkdir(target, { recursive: true, mode: mode || 0o755 });
      return;
    case 'file':
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await writeFile(entry, target, mode);
      return;
    case 'symlink':
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.symlink(entry.linkname, target);
      return;
    case 'hardlink': {
      const sourceRelative = safeRelative(entry.linkname);
      await refuseSymlinkParents(dir, sourceRelative, entry.name); // a link through a symlink could reach a host file
      const source = path.join(dir, sourceRelative);
      const stat = await fs.promises.lstat(source).catch(() => undefined);
      if (!stat?.isFile()) throw new TarError(`entry "${entry.name}": hard link to "${entry.linkname}", which is not an earlier file of the archive`);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.link(source, target);
      return;
    }
    default:
      throw new TarError(`entry "${entry.name}": ${TYPE_NAMES[entry.type]} is not allowed here: only files, directories, symlinks and hard links`);
  }
}

const TYPE_NAMES: Record<string, string> = { chardev: 'a character device', blockdev: 'a block device', fifo: 'a FIFO' };

/** "./a/b/" → "a/b"; absolute paths and ".." components are refused. */
function safeRelative(name: string): string {
  if (name.startsWith('/')) throw new TarError(`entry "${name}": absolute paths are not allowed`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new TarError(`entry "${name}": ".." would leave the destination directory`);
  return parts.join('/');
}

async function refuseSymlinkParents(dir: string, relative: string, name: string): Promise<void> {
  const parts = relative.split('/');
  for (let i = 1; i < parts.length; i++) {
    const stat = await fs.promises.lstat(path.join(dir, ...parts.slice(0, i))).catch(() => undefined);
    if (stat?.isSymbolicLink()) throw new TarError(`entry "${name}" lies under the symlink "${parts.slice(0, i).join('/')}"`);
    if (stat && !stat.isDirectory()) throw new TarError(`entry "${name}": "${parts.slice(0, i).join('/')}" is not a directory`);
  }
}

async function removeNonDirectory(target: string): Promise<void> {
  const stat = await fs.promises.lstat(target).catch(() => undefined);
  if (stat && !stat.isDirectory()) await fs.promises.unlink(target);
}

async function writeFile(entry: TarEntry, target: string, mode: number): Promise<void> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const handle = await fs.promises.open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    for await (const chunk of entry.body) await handle.write(chunk);
    await handle.chmod(mode); // the umask applied at open
    if (entry.mtime > 0) await handle.utimes(entry.mtime, entry.mtime);
  } finally {
    await handle.close();
  }
}
