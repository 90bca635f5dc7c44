/**
 * The files of a configMap or secret volume, swapped at once, as kubelet's AtomicWriter does: the
 * files live in a hidden directory `..<time>.<random>` inside the volume, `..data` is a symlink
 * to it, and each top-level name the user sees is a symlink through `..data`. An update writes a
 * new hidden directory, points `..data_tmp` at it and renames that over `..data` (rename(2) is
 * atomic): a reader in the container sees the old set or the new one, never half of each, and a
 * file it holds open keeps its old content. Then the names no longer in the set go, and the old
 * hidden directory with them. The container binds the volume's directory, so it sees every swap.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AtomicFile {
  /** Relative to the volume; no `..` element (validated by the API). */
  path: string;
  data: Buffer;
  mode: number;
}

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** Writes the set unless it is what the volume holds already; true when it wrote. */
export function writeAtomicDir(dir: string, files: readonly AtomicFile[]): boolean {
  for (const file of files) assertInside(file.path);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const current = currentTarget(dir);
  if (current !== undefined && sameContent(path.join(dir, current), files)) return false;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*$/, '');
  const next = fs.mkdtempSync(path.join(dir, `..${stamp}.`));
  fs.chmodSync(next, 0o755);
  for (const file of files) {
    const target = path.join(next, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(target, file.data, { mode: file.mode });
    fs.chmodSync(target, file.mode); // the umask does not narrow what the user asked for
  }
  fs.rmSync(path.join(dir, DATA_TMP), { force: true });
  fs.symlinkSync(path.basename(next), path.join(dir, DATA_TMP));
  fs.renameSync(path.join(dir, DATA_TMP), path.join(dir, DATA));
  const wanted = new Set(files.map((f) => f.path.split('/')[0]));
  for (const name of wanted) {
    const link = path.join(dir, name);
    if (!fs.lstatSync(link, { throwIfNoEntry: false })) fs.symlinkSync(path.join(DATA, name), link);
  }
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('..')) continue;
    if (!wanted.has(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  if (current !== undefined) fs.rmSync(path.join(dir, current), { recursive: true, force: true });
  return true;
}

function assertInside(relative: string): void {
  if (relative === '' || path.isAbsolute(relative) || relative.split('/').some((part) => part === '..' || part === '')) {
    throw new Error(`volume file path "${relative}" must be relative, without ".." or empty elements`);
  }
  if (relative.startsWith('..')) throw new Error(`volume file path "${relative}" must not start with ".." (the volume's own names)`);
}

function currentTarget(dir: string): string | undefined {
  try {
    return fs.readlinkSync(path.join(dir, DATA));
  } catch {
    return undefined;
  }
}

/** Every file of the hidden directory, with the same bytes and mode, and no other. */
function sameContent(current: string, files: readonly AtomicFile[]): boolean {
  const present = listFiles(current);
  if (present === undefined || present.length !== files.length) return false;
  return files.every((file) => {
    const full = path.join(current, file.path);
    const stat = fs.statSync(full, { throwIfNoEntry: false });
    return stat?.isFile() === true && (stat.mode & 0o777) === file.mode && fs.readFileSync(full).equals(file.data);
  });
}

function listFiles(dir: string, prefix = ''): string[] | undefined {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? (listFiles(path.join(dir, entry.name), relative) ?? []) : [relative];
    });
  } catch {
    return undefined;
  }
}
