/** Exact-size reads over a stream of chunks: the tar reader needs 512-byte headers and bounded bodies. */
import { Hash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

export class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far (for error messages: where in the archive a problem is). */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(wanted: number): Promise<void> {
    while (this.buffered < wanted && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /** Exactly n bytes; fewer only at the end of the stream (the caller decides whether that is an error). */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.offset += out.length;
    return out;
  }

  /** Yields the next n bytes as they arrive; throws `truncated` when the stream ends first. */
  async *take(n: number, truncated: () => Error): AsyncGenerator<Buffer> {
    let remaining = n;
    while (remaining > 0) {
      await this.fill(1);
      if (this.buffered === 0) throw truncated();
      const chunk = this.chunks[0];
      const piece = chunk.subarray(0, Math.min(remaining, chunk.length));
      if (piece.length === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(piece.length);
      this.buffered -= piece.length;
      this.offset += piece.length;
      remaining -= piece.length;
      yield piece;
    }
  }

  /** Stops reading early: the source is told (a download closes its connection, a file its descriptor). */
  async close(): Promise<void> {
    this.ended = true;
    await this.source.return?.();
  }

  /** Reads to the end (a layer's digest covers the padding after the end-of-archive marker too). */
  async drain(): Promise<void> {
    for (;;) {
      const piece = await this.read(1 << 16);
      if (piece.length === 0) return;
    }
  }
}

/** Passes chunks through while hashing them. */
export async function* hashing(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Decompresses a gzip stream (recognised by its magic bytes 1f 8b); anything else passes unchanged. */
export async function* gunzipIfCompressed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const rest = (async function* () {
    let done = false;
    try {
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      done = true;
    } finally {
      if (!done) await iterator.return?.();
    }
  })();
  if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) {
    yield* rest;
    return;
  }
  // pipeline destroys every stage on error, so a corrupt or truncated gzip rejects the iteration.
  // 1 MiB output chunks: at the default 16 KiB, the per-chunk work downstream (hashing, tar parsing) costs more than inflating.
  const gunzip = pipeline(Readable.from(rest), createGunzip({ chunkSize: 1 << 20 }), () => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/** Joins small chunks into ones of at least `size` bytes (the last may be smaller). */
export async function* batched(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    if (chunk.length >= size && length === 0) {
      yield chunk;
      continue;
    }
    pending.push(chunk);
    length += chunk.length;
    if (length >= size) {
      yield Buffer.concat(pending, length);
      pending = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(pending, length);
}
