/**
 * Packs a build context directory into a tar stream (ustar, with pax records for long names), leaving
 * out what .dockerignore excludes. The Dockerfile and .dockerignore always go: the builder needs them
 * (Docker does the same). Files are read as the stream is consumed, so a large context is never held
 * in memory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { isIgnored, mayReincludeUnder, parseDockerignore } from './dockerignore';

const BLOCK = 512;

export interface ContextEntry {
  /** Path inside the context, "/" separated; directories end without "/". */
  name: string;
  stat: fs.Stats;
  linkTarget?: string;
}

/** What will be sent, in order (parents before children); tsctl prints the count and size. */
export function listContext(dir: string, dockerfile = 'Dockerfile'): ContextEntry[] {
  const ignoreFile = path.join(dir, '.dockerignore');
  const rules = fs.existsSync(ignoreFile) ? parseDockerignore(fs.readFileSync(ignoreFile, 'utf8')) : [];
  const always = new Set([path.posix.normalize(dockerfile), '.dockerignore']);
  const entries: ContextEntry[] = [];
  const walk = (relative: string) => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const child = relative ? `${relative}/${name}` : name;
      const stat = fs.lstatSync(path.join(dir, child));
      const ignored = !always.has(child) && isIgnored(rules, child);
      if (stat.isDirectory()) {
        if (!ignored) entries.push({ name: child, stat });
        if (!ignored || mayReincludeUnder(rules, child)) walk(child);
      } else if (!ignored && (stat.isFile() || stat.isSymbolicLink())) {
        entries.push({ name: child, stat, ...(stat.isSymbolicLink() ? { linkTarget: fs.readlinkSync(path.join(dir, child)) } : {}) });
      }
    }
  };
  walk('');
  return entries;
}

export function packContext(dir: string, entries: ContextEntry[]): Readable {
  return Readable.from(tarBlocks(dir, entries));
}

async function* tarBlocks(dir: string, entries: ContextEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const type = entry.stat.isDirectory() ? '5' : entry.linkTarget !== undefined ? '2' : '0';
    const size = type === '0' ? entry.stat.size : 0;
    const name = type === '5' ? `${entry.name}/` : entry.name;
    yield* headerBlocks({ name, type, size, mode: entry.stat.mode & 0o7777, mtime: Math.floor(entry.stat.mtimeMs / 1000), linkname: entry.linkTarget ?? '' });
    if (type === '0') yield* fileBlocks(path.join(dir, entry.name), size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** The file's bytes, exactly `size` of them (a file that changed while packing is cut or padded). */
async function* fileBlocks(file: string, size: number): AsyncGenerator<Buffer> {
  if (size === 0) return;
  let sent = 0;
  for await (const chunk of fs.createReadStream(file, { end: size - 1 }) as AsyncIterable<Buffer>) {
    const part = chunk.subarray(0, size - sent);
    sent += part.length;
    if (part.length) yield part;
  }
  if (sent < size) yield Buffer.alloc(size - sent);
  const padding = (BLOCK - (size % BLOCK)) % BLOCK;
  if (padding) yield Buffer.alloc(padding);
}

interface Header {
  name: string;
  type: string;
  size: number;
  mode: number;
  mtime: number;
  linkname: string;
}

function* headerBlocks(header: Header): Generator<Buffer> {
  const split = splitName(header.name);
  const longLink = Buffer.byteLength(header.linkname) > 100;
  if (!split || longLink) {
    // pax extended header: the real name/link target, for readers that know pax (GNU tar, Docker, Tide's agent).
    const records = Buffer.from([
      ...(split ? [] : [paxRecord('path', header.name)]),
      ...(longLink ? [paxRecord('linkpath', header.linkname)] : []),
    ].join(''));
    yield ustarHeader({ name: 'PaxHeader', type: 'x', size: records.length, mode: 0o644, mtime: header.mtime, linkname: '' }, { prefix: '', name: 'PaxHeader' });
    yield Buffer.concat([records, Buffer.alloc((BLOCK - (records.length % BLOCK)) % BLOCK)]);
  }
  yield ustarHeader(header, split ?? { prefix: '', name: header.name.slice(-100) });
}

/** ustar keeps names up to 100 bytes, or a prefix of up to 155 bytes before a "/" plus such a name. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest) return { prefix, name: rest };
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function ustarHeader(header: Header, split: { prefix: string; name: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  const octal = (value: number, width: number, offset: number) => block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
  block.write(split.name, 0, 100, 'utf8');
  octal(header.mode, 8, 100);
  octal(0, 8, 108);
  octal(0, 8, 116);
  octal(header.size, 12, 124);
  octal(header.mtime, 12, 136);
  block.write(header.type, 156, 1, 'latin1');
  block.write(header.linkname.slice(0, 100), 157, 100, 'utf8');
  block.write('ustar\x0000', 257, 8, 'latin1');
  block.write(split.prefix, 345, 155, 'utf8');
  block.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}
