/**
 * A tar writer (ustar, with a pax header for long names) producing deterministic archives: the same
 * entries in the same order give the same bytes (no user/group names, no atime/ctime).
 */
import * as fs from 'node:fs';
import { TarEntryType, TarError } from './tar.reader';

export interface TarWriteHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid?: number;
  gid?: number;
  /** Regular files only; must equal the body's length. */
  size?: number;
  /** Seconds since the epoch; default 0. */
  mtime?: number;
  linkname?: string;
}

/** Where the bytes go; awaited, so that a slow sink slows the writer down. */
export type ByteSink = (chunk: Buffer) => Promise<void>;

const FLAGS: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', blockdev: '4', directory: '5', fifo: '6' };
const BLOCK = 512;

export class TarWriter {
  constructor(private readonly sink: ByteSink) {}

  /** Adds an entry; a regular file's body is a Buffer or the path of a file to stream. */
  async add(header: TarWriteHeader, body?: Buffer | string | AsyncIterable<Buffer>): Promise<void> {
    const size = header.type === 'file' ? (header.size ?? (Buffer.isBuffer(body) ? body.length : 0)) : 0;
    const name = header.type === 'directory' && !header.name.endsWith('/') ? `${header.name}/` : header.name;
    const linkname = header.linkname ?? '';
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(name) > 100) pax.path = name;
    if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
    if (Object.keys(pax).length > 0) await this.writePax(pax);
    await this.sink(headerBlock({ ...header, name: name.slice(0, 100), linkname: linkname.slice(0, 100), size }));
    if (size === 0) return;
    let written = 0;
    const chunks = Buffer.isBuffer(body) ? [body] : typeof body === 'string' ? fs.createReadStream(body) : (body ?? []);
    for await (const chunk of chunks as AsyncIterable<Buffer>) {
      written += chunk.length;
      if (written > size) break;
      await this.sink(chunk);
    }
    if (written !== size) throw new TarError(`tar entry "${header.name}": expected ${size} bytes, got ${written} (did the file change?)`);
    await this.pad(size);
  }

  /** The end-of-archive marker: two zero blocks. */
  async finish(): Promise<void> {
    await this.sink(Buffer.alloc(2 * BLOCK));
  }

  private async writePax(records: Record<string, string>): Promise<void> {
    const body = Buffer.from(Object.entries(records).map(([key, value]) => paxRecord(key, value)).join(''));
    await this.sink(headerBlock({ name: 'PaxHeader', type: 'file', mode: 0o644, size: body.length }, 'x'));
    await this.sink(body);
    await this.pad(body.length);
  }

  private async pad(size: number): Promise<void> {
    const rest = (BLOCK - (size % BLOCK)) % BLOCK;
    if (rest > 0) await this.sink(Buffer.alloc(rest));
  }
}

/** "<length> key=value\n" where length counts itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(rest) + 1;
  while (String(length).length + Buffer.byteLength(rest) !== length) length++;
  return `${length}${rest}`;
}

function headerBlock(h: TarWriteHeader & { size: number }, flag = FLAGS[h.type]): Buffer {
  if (!flag) throw new TarError(`tar entry "${h.name}": cannot write entries of type ${h.type}`);
  const block = Buffer.alloc(BLOCK);
  const put = (text: string, offset: number, length: number) => block.write(text, offset, length, 'utf8');
  const octal = (value: number, offset: number, length: number) => put(value.toString(8).padStart(length - 1, '0'), offset, length - 1);
  put(h.name, 0, 100);
  octal(h.mode & 0o7777, 100, 8);
  octal(h.uid ?? 0, 108, 8);
  octal(h.gid ?? 0, 116, 8);
  octal(h.size, 124, 12);
  octal(Math.max(0, Math.floor(h.mtime ?? 0)), 136, 12);
  block.fill(0x20, 148, 156);
  block.write(flag, 156, 1, 'latin1');
  put(h.linkname ?? '', 157, 100);
  block.write('ustar\u000000', 257, 8, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** A sink writing to a file handle. */
export function fileSink(handle: fs.promises.FileHandle): ByteSink {
  return async (chunk) => {
    await handle.write(chunk);
  };
}

/** A sink writing to a stream, waiting for 'drain' when its buffer is full. */
export function streamSink(out: NodeJS.WritableStream): ByteSink {
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      if (out.write(chunk)) return resolve();
      const onError = (error: Error) => reject(error);
      out.once('error', onError);
      out.once('drain', () => {
        out.removeListener('error', onError);
        resolve();
      });
    });
}
