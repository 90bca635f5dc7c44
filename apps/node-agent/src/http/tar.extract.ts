/**
 * Unpacks a build context (a tar stream from tsctl, docker or `tar -c`) into a fresh directory. The
 * agent runs as root, so the archive is untrusted input: only regular files, directories, symlinks and
 * hard links to earlier entries are accepted; an entry with an absolute path or a `..` component, an
 * entry under a symlink it created, and device nodes or FIFOs are refused with a TarError naming the
 * entry. Nothing is ever written through a symlink (existing paths are unlinked, files opened with
 * O_NOFOLLOW). Formats: ustar (with prefix), pax `path`/`linkpath`/`size` records, GNU long names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class TarError extends Error {
  override readonly name = 'TarError';
}

const BLOCK = 512;

interface Entry {
  name: string;
  type: string;
  size: number;
  mode: number;
  mtime: number;
  linkname: string;
}

/** Overrides for the next entry, from pax `x` headers and GNU `L`/`K` entries. */
interface Pending {
  path?: string;
  linkpath?: string;
  size?: number;
}

export async function extractTar(input: AsyncIterable<Buffer | string>, dir: string): Promise<number> {
  const reader = new ByteReader(input[Symbol.asyncIterator]());
  let pending: Pending = {};
  let count = 0;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0 || isZero(block)) return count; // end of archive (EOF alone is tolerated)
    if (block.length < BLOCK) throw new TarError('the archive ends in the middle of a header');
    const entry = withPending(parseHeader(block), pending);
    pending = {};
    if (entry.type === 'x' || entry.type === 'g' || entry.type === 'L' || entry.type === 'K') {
      const body = await readBody(reader, entry);
      if (entry.type === 'x') pending = parsePax(body, entry.name);
      if (entry.type === 'L') pending = { ...pending, path: cString(body) };
      if (entry.type === 'K') pending = { ...pending, linkpath: cString(body) };
      continue;
    }
    await writeEntry(reader, entry, dir);
    count++;
  }
}

function withPending(entry: Entry, pending: Pending): Entry {
  return {
    ...entry,
    ...(pending.path !== undefined ? { name: pending.path } : {}),
    ...(pending.linkpath !== undefined ? { linkname: pending.linkpath } : {}),
    ...(pending.size !== undefined ? { size: pending.size } : {}),
  };
}

function parseHeader(block: Buffer): Entry {
  const stored = octal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  if (stored !== sum) throw new TarError('not a tar archive (header checksum mismatch)');
  const name = cString(block.subarray(0, 100));
  const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
  const prefix = ustar ? cString(block.subarray(345, 500)) : '';
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(block[156] || 0x30),
    size: octal(block.subarray(124, 136)),
    mode: octal(block.subarray(100, 108)),
    mtime: octal(block.subarray(136, 148)),
    linkname: cString(block.subarray(157, 257)),
  };
}

async function writeEntry(reader: ByteReader, entry: Entry, dir: string): Promise<void> {
  const relative = safeRelative(entry.name);
  if (relative === '') return void (await readBody(reader, entry)); // "./" itself
  const target = path.join(dir, relative);
  await refuseSymlinkParents(dir, relative, entry.name);
  await removeNonDirectory(target);
  const mode = entry.mode & 0o777; // no setuid/setgid bits from an uploaded context
  switch (entry.type) {
    case '5':
      await fs.promises.mkdir(target, { recursive: true, mode: mode || 0o755 });
      return;
    case '0': case '7':
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await writeFile(reader, entry, target, mode);
      return;
    case '2':
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await fs.promises.symlink(entry.linkname, target);
      return;
    case '1': {
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
      throw new TarError(`entry "${entry.name}": ${TYPE_NAMES[entry.type] ?? `type "${entry.type}"`} is not allowed in a build context`);
  }
}

const TYPE_NAMES: Record<string, string> = { '3': 'a character device', '4': 'a block device', '6': 'a FIFO' };

/** "./a/b/" → "a/b"; absolute paths and ".." components are refused. */
function safeRelative(name: string): string {
  if (name.startsWith('/')) throw new TarError(`entry "${name}": absolute paths are not allowed`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new TarError(`entry "${name}": ".." would leave the build context`);
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

async function writeFile(reader: ByteReader, entry: Entry, target: string, mode: number): Promise<void> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const handle = await fs.promises.open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    let left = entry.size;
    while (left > 0) {
      const chunk = await reader.read(Math.min(left, 64 * 1024));
      if (chunk.length === 0) throw new TarError(`entry "${entry.name}": the archive ends inside it`);
      await handle.write(chunk);
      left -= chunk.length;
    }
    await handle.chmod(mode); // the umask applied at open
    if (entry.mtime > 0) await handle.utimes(entry.mtime, entry.mtime);
  } finally {
    await handle.close();
  }
  await skipPadding(reader, entry.size);
}

async function readBody(reader: ByteReader, entry: Entry): Promise<Buffer> {
  if (entry.size > 1 << 20 && entry.type !== '0') throw new TarError(`entry "${entry.name}": a ${entry.size}-byte header is too large`);
  const body = await reader.read(entry.size);
  if (body.length < entry.size) throw new TarError(`entry "${entry.name}": the archive ends inside it`);
  await skipPadding(reader, entry.size);
  return body;
}

async function skipPadding(reader: ByteReader, size: number): Promise<void> {
  const padding = (BLOCK - (size % BLOCK)) % BLOCK;
  if (padding) await reader.read(padding);
}

/** pax records: "LENGTH key=value\n". */
function parsePax(body: Buffer, name: string): Pending {
  const pending: Pending = {};
  let offset = 0;
  while (offset < body.length) {
    const space = body.indexOf(0x20, offset);
    const length = Number(body.subarray(offset, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0) throw new TarError(`entry "${name}": malformed pax header`);
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') pending.path = value;
    if (key === 'linkpath') pending.linkpath = value;
    if (key === 'size') pending.size = Number(value);
    offset += length;
  }
  return pending;
}

function octal(field: Buffer): number {
  // GNU base-256 for sizes ≥ 8 GiB: high bit of the first byte set.
  if (field[0] & 0x80) return field.subarray(1).reduce((value, byte) => value * 256 + byte, 0);
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function isZero(block: Buffer): boolean {
  return block.every((byte) => byte === 0);
}

/** Reads exactly n bytes (fewer only at the end of the input) from an async byte source. */
class ByteReader {
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer | string>) {}

  async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else this.buffered = Buffer.concat([this.buffered, Buffer.from(next.value)]);
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(out.length);
    return out;
  }
}
