/**
 * A streaming tar reader (POSIX ustar, pax extended headers, GNU long names), enough for image
 * layers and image archives. It decides nothing about where entries go: that is the caller's job.
 */
import { ByteSource } from './byte.source';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'directory' | 'fifo';

export interface TarHeader {
  /** As written in the archive (not normalised). */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

export interface TarEntry extends TarHeader {
  /** The entry's data; may be left unread (the reader skips what is not consumed). */
  body: AsyncIterable<Buffer>;
}

export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

const BLOCK = 512;
const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'chardev', '4': 'blockdev', '5': 'directory', '6': 'fifo',
};

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/** Yields the entries of a tar stream. Ends at the end-of-archive marker; the rest is left unread. */
export async function* readTar(bytes: ByteSource): AsyncGenerator<TarEntry> {
  let pax: Record<string, string> = {};
  let globalPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const at = bytes.offset;
    const block = await bytes.read(BLOCK);
    if (block.length < BLOCK) throw new TarError(`truncated archive: it ends at byte ${bytes.offset} without the end-of-archive marker`);
    if (block.every((b) => b === 0)) return;
    const raw = parseHeader(block, at);
    const truncated = () => new TarError(`truncated archive: entry "${raw.name}" ends early (at byte ${bytes.offset})`);
    if (raw.flag === 'x' || raw.flag === 'g' || raw.flag === 'L' || raw.flag === 'K') {
      const data = Buffer.concat(await collect(bytes.take(raw.size, truncated)));
      await skipAll(bytes.take(padding(raw.size), truncated));
      if (raw.flag === 'x') pax = parsePax(data, raw.name);
      else if (raw.flag === 'g') globalPax = { ...globalPax, ...parsePax(data, raw.name) };
      else if (raw.flag === 'L') longName = cString(data);
      else longLink = cString(data);
      continue;
    }
    const type = TYPES[raw.flag];
    if (!type) throw new TarError(`unsupported tar entry type "${raw.flag}" for "${raw.name}" (at byte ${at})`);
    const meta = { ...globalPax, ...pax };
    const size = meta.size !== undefined ? Number(meta.size) : raw.size;
    const entry: TarHeader = {
      name: meta.path ?? longName ?? raw.name,
      // Old (v7) archives mark directories with a trailing slash only.
      type: type === 'file' && raw.name.endsWith('/') ? 'directory' : type,
      mode: raw.mode, uid: numberOr(meta.uid, raw.uid), gid: numberOr(meta.gid, raw.gid),
      size: type === 'file' ? size : 0,
      mtime: Math.floor(numberOr(meta.mtime, raw.mtime)),
      linkname: meta.linkpath ?? longLink ?? raw.linkname, devmajor: raw.devmajor, devminor: raw.devminor,
    };
    pax = {};
    longName = longLink = undefined;
    let unread = size;
    const body = (async function* () {
      for await (const piece of bytes.take(size, truncated)) {
        unread -= piece.length; // before the yield: a consumer may stop iterating at any piece
        yield piece;
      }
    })();
    yield { ...entry, body };
    await skipAll(bytes.take(unread + padding(size), truncated));
  }
}

interface RawHeader {
  name: string; flag: string; mode: number; uid: number; gid: number; size: number; mtime: number;
  linkname: string; devmajor: number; devminor: number;
}

function parseHeader(block: Buffer, at: number): RawHeader {
  const stored = parseNumber(block.subarray(148, 156));
  let sum = 8 * 0x20; // the checksum field itself counts as spaces
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i];
  if (stored !== sum) throw new TarError(`corrupt archive: bad header checksum at byte ${at}`);
  const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
  const prefix = ustar ? cString(block.subarray(345, 500)) : '';
  const name = cString(block.subarray(0, 100));
  return {
    name: prefix ? `${prefix}/${name}` : name,
    flag: String.fromCharCode(block[156]),
    mode: parseNumber(block.subarray(100, 108)) & 0o7777,
    uid: parseNumber(block.subarray(108, 116)),
    gid: parseNumber(block.subarray(116, 124)),
    size: parseNumber(block.subarray(124, 136)),
    mtime: parseNumber(block.subarray(136, 148)),
    linkname: cString(block.subarray(157, 257)),
    devmajor: ustar ? parseNumber(block.subarray(329, 337)) : 0,
    devminor: ustar ? parseNumber(block.subarray(337, 345)) : 0,
  };
}

/** Octal ASCII, or GNU base-256 (high bit of the first byte set) for values that do not fit. */
function parseNumber(field: Buffer): number {
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) || 0 : 0;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(data: Buffer, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (space < 0 || !(length > 0) || pos + length > data.length) throw new TarError(`corrupt archive: bad pax header "${name}"`);
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}

function numberOr(text: string | undefined, fallback: number): number {
  return text !== undefined && text !== '' && Number.isFinite(Number(text)) ? Number(text) : fallback;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

async function skipAll(source: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of source) {
    /* discard */
  }
}
