/**
 * Paths inside a container, checked by their text before the kernel resolves them (container.root.ts):
 * a path a caller gives, and the names of the entries of an archive extracted into a directory. A
 * `..` that would climb above the root (or above the directory an archive goes into) is refused
 * here, with a message naming it, rather than quietly stopped at the root as the kernel would.
 */
import { TarError } from '@tide/tar';

export class FilesError extends Error {
  constructor(
    readonly code: 'NotFound' | 'NotDirectory' | 'Invalid' | 'ReadOnly',
    message: string,
  ) {
    super(message);
    this.name = 'FilesError';
  }
}

export interface ContainerPath {
  /** Absolute and clean: "/etc/nginx"; "/" for the root. */
  path: string;
  /** The parent directory ("/" for a top-level name and for the root itself). */
  parent: string;
  /** The last component; "." for the root. */
  base: string;
  /** The archive's top entry: the last component, or "." when the contents were asked for ("dir/.", "/"). */
  entryName: string;
}

/** A caller's path, relative ones taken from the root (as `docker cp` does). */
export function containerPath(input: string): ContainerPath {
  if (input === '') throw new FilesError('Invalid', 'path: give a path inside the container, e.g. /etc/hostname');
  if (input.includes('\0')) throw new FilesError('Invalid', 'path: must not contain a NUL byte');
  const parts = cleanParts(input.split('/'), () => new FilesError('Invalid', `path "${input}" climbs above the container's root with ".."`));
  const contentsOnly = /(^|\/)\.$/.test(input) || parts.length === 0;
  const base = parts.at(-1) ?? '.';
  return {
    path: `/${parts.join('/')}`,
    parent: `/${parts.slice(0, -1).join('/')}`,
    base,
    entryName: contentsOnly ? '.' : base,
  };
}

/**
 * An archive entry's name as components below the directory it is extracted into ([] for the
 * directory itself): a leading "/" or "./" is dropped, `..` may not climb out of the directory.
 */
export function entryParts(name: string): string[] {
  return cleanParts(name.split('/'), () => new TarError(`entry "${name}" would land outside the destination directory ("..")`));
}

function cleanParts(raw: string[], escape: () => Error): string[] {
  const parts: string[] = [];
  for (const part of raw) {
    if (part === '' || part === '.') continue;
    if (part !== '..') parts.push(part);
    else if (parts.pop() === undefined) throw escape();
  }
  return parts;
}

/** "/a" + ["b", "c"] → "/a/b/c". */
export function joinPath(directory: string, parts: string[]): string {
  return [directory.replace(/\/+$/, ''), ...parts].join('/') || '/';
}
