/**
 * Copying files in and out of a running replica (contract between tsctl, the control plane and the
 * node agent): `GET|HEAD|PUT /api/v1/replicas/NAME/archive?namespace=NS&path=P` (the agent's
 * `/v1/archive/NS/NAME?path=P`). GET answers a tar of P (its top entry named after P's last
 * component; `P/.` names it `.`, for the contents only), HEAD the stat alone, PUT extracts the tar
 * body into the directory P. Every answer about a path carries its stat in PATH_STAT_HEADER.
 */

export const PATH_STAT_HEADER = 'x-tide-path-stat';

/** One path inside a container, as lstat(2) sees it (a symlink is not followed). */
export interface PathStat {
  /** The path's last component as asked for ("/" for the root). */
  name: string;
  size: number;
  /** st_mode: the file type bits (S_IFDIR, S_IFLNK...) and the permissions. */
  mode: number;
  /** ISO 8601. */
  mtime: string;
  /** For a symlink: the absolute path it leads to in the container, every link followed; else "". */
  linkTarget: string;
}

const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export const isDirectoryMode = (mode: number) => (mode & S_IFMT) === S_IFDIR;
export const isSymlinkMode = (mode: number) => (mode & S_IFMT) === S_IFLNK;
export const isRegularMode = (mode: number) => (mode & S_IFMT) === S_IFREG;

/** Base64 of the JSON: a header carries names in any encoding safely. */
export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat), 'utf8').toString('base64');
}

/** The header's stat, or undefined when it is absent or not one. */
export function decodePathStat(header: string | null | undefined): PathStat | undefined {
  if (!header) return undefined;
  try {
    const value = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as Partial<PathStat>;
    if (typeof value.name !== 'string' || typeof value.mode !== 'number' || typeof value.size !== 'number') return undefined;
    return { name: value.name, size: value.size, mode: value.mode, mtime: String(value.mtime ?? ''), linkTarget: String(value.linkTarget ?? '') };
  } catch {
    return undefined;
  }
}
