/**
 * Where a copy lands, by `docker cp`'s rules (which `kubectl cp` shares for the common cases): an
 * archive of the source is extracted into a directory, its top entry renamed. Into an existing
 * directory, the source keeps its name ("SRC/." puts its contents there instead); onto an existing
 * file or a path that does not exist yet, the source takes the destination's name in its parent.
 * Pure: the callers stat both sides, locally or in the replica.
 */
import * as path from 'node:path/posix';

export interface CopySource {
  path: string;
  isDirectory: boolean;
}

export interface CopyDestination {
  path: string;
  exists: boolean;
  isDirectory: boolean;
}

export interface CopyPlan {
  /** The directory the archive is extracted into. */
  directory: string;
  /** The name the archive's top entry takes there; "." merges a directory's contents into it. */
  topName: string;
}

export class CopyRefused extends Error {
  override readonly name = 'CopyRefused';
}

/** The archive's own top entry for a source path: its last component, or "." for "dir/." and "/". */
export function topEntryOf(source: string): string {
  if (/(^|\/)\.$/.test(source)) return '.';
  return path.basename(path.normalize(source)) || '.';
}

export function planCopy(source: CopySource, destination: CopyDestination): CopyPlan {
  const dst = destination.path;
  if (destination.exists && destination.isDirectory) return { directory: dst, topName: topEntryOf(source.path) };
  if (destination.exists && source.isDirectory) throw new CopyRefused(`cannot copy a directory onto the file ${dst}`);
  if (!destination.exists && /\/$/.test(dst) && !source.isDirectory) throw new CopyRefused(`destination directory ${dst} does not exist`);
  const normalized = path.normalize(dst).replace(/(.)\/+$/, '$1');
  return { directory: path.dirname(normalized), topName: path.basename(normalized) };
}

/** Maps an archive's names from its top entry `from` to `to` (entries below it follow). */
export function renameTop(from: string, to: string): (name: string) => string {
  if (from === to) return (name) => name;
  if (from === '.') {
    return (name) => {
      const rest = name.replace(/^(\.\/)+/, '');
      return rest === '' || rest === '.' ? `${to}/` : `${to}/${rest}`;
    };
  }
  return (name) => {
    const bare = name.replace(/^(\.\/)+/, '');
    if (bare === from || bare === `${from}/`) return `${to}${bare.endsWith('/') ? '/' : ''}`;
    return bare.startsWith(`${from}/`) ? `${to}${bare.slice(from.length)}` : bare;
  };
}
