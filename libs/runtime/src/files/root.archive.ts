/**
 * A tar of one path in a container (the GET of `tsctl cp` and `docker cp` out of a replica): the
 * path itself under its own name (or "." for its contents), then, for a directory, everything below
 * it in name order. Each entry is reached from its parent's fd (container.root.ts), a symlink is
 * archived as a symlink, never followed. Sockets and device nodes are left out (a copy cannot
 * recreate them faithfully), and so are the contents of the kernel's own file systems mounted in
 * the container (/proc, /sys, /dev/pts...): their directories appear, empty.
 */
import * as fs from 'node:fs';
import { O_PATH } from '@tide/syscall';
import { ByteSink, TarWriteHeader, TarWriter } from '@tide/tar';
import { ContainerPath, FilesError } from './container.path';
import { ContainerRoot, below } from './container.root';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;
const READ_CHUNK = 256 * 1024;
/** statfs(2) magic numbers of the kernel's pseudo file systems (linux/magic.h). */
const PSEUDO_FILESYSTEMS = new Set([
  0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x1cd1 /* devpts */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */,
  0x19800202 /* mqueue */, 0x74726163 /* tracefs */, 0x64626720 /* debugfs */, 0x73636673 /* securityfs */,
]);

export async function archivePath(root: ContainerRoot, target: ContainerPath, sink: ByteSink): Promise<void> {
  const writer = new TarWriter(sink);
  const parent = root.open(target.parent, { directory: true });
  try {
    await addEntry(root, writer, parent, target.base, target.entryName, target.path);
  } finally {
    fs.closeSync(parent);
  }
  await writer.finish();
}

async function addEntry(root: ContainerRoot, writer: TarWriter, dirfd: number, name: string, entryName: string, path: string): Promise<void> {
  const stat = root.lstatBelow(dirfd, name, path);
  const header = { name: entryName, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: Math.floor(stat.mtimeMs / 1000) };
  if (stat.isDirectory()) return addDirectory(root, writer, dirfd, name, header, path);
  if (stat.isSymbolicLink()) return writer.add({ ...header, type: 'symlink', linkname: fs.readlinkSync(below(dirfd, name)) });
  if (stat.isFIFO()) return writer.add({ ...header, type: 'fifo' });
  if (!stat.isFile()) return; // a socket or a device node
  // O_NONBLOCK: a file swapped for a FIFO meanwhile must not hang the agent; the fstat says what was opened.
  const fd = fs.openSync(below(dirfd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) return;
    await writer.add({ ...header, type: 'file', size: opened.size }, readExactly(fd, opened.size));
  } finally {
    fs.closeSync(fd);
  }
}

async function addDirectory(root: ContainerRoot, writer: TarWriter, dirfd: number, name: string, header: Omit<TarWriteHeader, 'type'>, path: string): Promise<void> {
  await writer.add({ ...header, type: 'directory' });
  let fd: number;
  try {
    fd = fs.openSync(below(dirfd, name), O_PATH | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    throw root.failure(error, path);
  }
  try {
    if (PSEUDO_FILESYSTEMS.has(Number(fs.statfsSync(below(fd, '.')).type))) return;
    const prefix = header.name === '.' ? '' : `${header.name}/`;
    for (const child of fs.readdirSync(below(fd, '.')).sort()) {
      await addEntry(root, writer, fd, child, `${prefix}${child}`, `${path === '/' ? '' : path}/${child}`).catch((error: unknown) => {
        if (!(error instanceof FilesError && error.code === 'NotFound')) throw error; // removed since the listing: left out
      });
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The file's first `size` bytes: a file that grows while it is read is cut at the size its header
 * announced, one that shrinks is padded with zeros, so that a busy log file does not break the archive.
 */
async function* readExactly(fd: number, size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const chunk = Buffer.alloc(Math.min(READ_CHUNK, left));
    const read = await new Promise<number>((resolve, reject) => fs.read(fd, chunk, 0, chunk.length, null, (error, n) => (error ? reject(error) : resolve(n))));
    if (read === 0) {
      yield Buffer.alloc(left);
      return;
    }
    left -= read;
    yield chunk.subarray(0, read);
  }
}
