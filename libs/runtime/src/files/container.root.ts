/**
 * A running container's root filesystem, reached from the agent (which runs as root on the host)
 * without entering the container: `/proc/PID/root` opened once, then every path resolved by
 * openat2(2) with RESOLVE_IN_ROOT, so that the kernel treats that directory as "/" for `..` and for
 * symlinks, absolute or relative, in every component. A symlink a container made to "/etc" leads
 * to its own /etc, never the host's. Whatever is then done to the last component goes through
 * `/proc/self/fd/DIRFD/NAME` with calls that do not follow a symlink there (lstat, readlink,
 * O_NOFOLLOW, mkdir, symlink, unlink, link): the container may change its files meanwhile, but it
 * cannot redirect one of those calls out of its root. Volumes mounted in the container are seen as
 * the container sees them.
 */
import * as fs from 'node:fs';
import { PathStat } from '@tide/api';
import { AT_FDCWD, O_PATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, Sys } from '@tide/syscall';
import { ContainerPath, FilesError } from './container.path';

const { O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW } = { ...fs.constants, O_CLOEXEC: 0o2000000 };
/** Links followed while working out where a symlink leads, as the kernel's own limit. */
const MAX_LINKS = 40;

/** One component below a directory the agent holds open: the kernel walks to that directory by its fd. */
export function below(dirfd: number, name: string): string {
  return `/proc/self/fd/${dirfd}/${name}`;
}

export class ContainerRoot {
  private constructor(readonly sys: Sys, private readonly fd: number, readonly description: string) {}

  /** `directory`: /proc/PID/root of the container's process (or any directory, in tests). */
  static open(sys: Sys, directory: string, description: string): ContainerRoot {
    return new ContainerRoot(sys, sys.openat2(AT_FDCWD, directory, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0), description);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** An O_PATH fd of `path` (symlinks followed inside the root; the last one too unless `noFollow`). */
  open(path: string, options: { directory?: boolean; noFollow?: boolean } = {}): number {
    const flags = O_PATH | O_CLOEXEC | (options.directory ? O_DIRECTORY : 0) | (options.noFollow ? O_NOFOLLOW : 0);
    try {
      return this.sys.openat2(this.fd, path, flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    } catch (error) {
      throw this.failure(error, path);
    }
  }

  /** The path itself (a symlink is not followed), and for a symlink where it leads. */
  stat(target: ContainerPath): PathStat {
    const parent = this.open(target.parent, { directory: true });
    try {
      const stat = this.lstatBelow(parent, target.base, target.path);
      return {
        name: target.path === '/' ? '/' : target.base, size: stat.size, mode: stat.mode, mtime: stat.mtime.toISOString(),
        linkTarget: stat.isSymbolicLink() ? this.linkTarget(target.path) : '',
      };
    } finally {
      fs.closeSync(parent);
    }
  }

  lstatBelow(dirfd: number, name: string, path: string): fs.Stats {
    try {
      return fs.lstatSync(below(dirfd, name));
    } catch (error) {
      throw this.failure(error, path);
    }
  }

  /** Where a symlink leads, every link on the way followed as the container would ("/" joined, `..` at "/" staying there). */
  linkTarget(path: string): string {
    let current = path;
    for (let hops = 0; hops < MAX_LINKS; hops++) {
      const slash = current.lastIndexOf('/');
      const [parentPath, base] = [current.slice(0, slash) || '/', current.slice(slash + 1)];
      const parent = this.open(parentPath, { directory: true });
      try {
        const link = fs.readlinkSync(below(parent, base));
        current = normalize(link.startsWith('/') ? link : `${parentPath}/${link}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EINVAL' || (error as NodeJS.ErrnoException).code === 'ENOENT') return current; // not a link (any more)
        throw this.failure(error, path);
      } finally {
        fs.closeSync(parent);
      }
    }
    throw new FilesError('Invalid', `${path} in ${this.description}: more than ${MAX_LINKS} symlinks on the way`);
  }

  /** A user's error for the errno of a call on `path`; anything unexpected as it is. */
  failure(error: unknown, path: string): Error {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${path} in ${this.description}`;
    if (code === 'ENOENT') return new FilesError('NotFound', `Could not find the file ${path} in ${this.description}`);
    if (code === 'ENOTDIR') return new FilesError('NotDirectory', `${where}: a component of the path is not a directory`);
    if (code === 'ELOOP') return new FilesError('Invalid', `${where}: too many levels of symlinks`);
    if (code === 'EROFS') return new FilesError('ReadOnly', `${where}: the file system is read-only`);
    if (code === 'EEXIST') return new FilesError('Invalid', `${where}: exists already`);
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** "/a/./b/../c" → "/a/c"; `..` at "/" stays at "/" (the kernel's rule inside a root). */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}
