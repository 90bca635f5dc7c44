/**
 * Streams a container's log file to a writable: everything written so far and, with follow, what is
 * appended afterwards (tail -f semantics: a truncated file is read again from its start; a removed
 * file ends the stream) until the reader goes away.
 */
import * as fs from 'node:fs';
import { Writable } from 'node:stream';

export interface LogStreamOptions {
  follow: boolean;
  /** How often a followed file is checked for appended bytes. */
  pollMs?: number;
  /** Aborted when the reader goes away. */
  signal: AbortSignal;
  /** The byte to start at (default 0). */
  from?: number;
  /**
   * Without follow: the end, as the file was when the request came (a flooding container does not
   * add to a `--tail`), or, when that falls inside a line, the end of that line as far as it is written.
   */
  until?: number;
}

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

export async function streamLogFile(file: string, out: Writable, options: LogStreamOptions): Promise<void> {
  let position = options.from ?? 0;
  const handle = await fs.promises.open(file, 'r');
  try {
    if (!options.follow && options.until !== undefined) {
      await copyNewBytes(handle, position, out, options.signal, options.until);
      return;
    }
    for (;;) {
      position = await copyNewBytes(handle, position, out, options.signal);
      if (!options.follow || options.signal.aborted) return;
      await sleep(options.pollMs ?? 200, options.signal);
      if (options.signal.aborted) return;
      const now = await fs.promises.stat(file).catch(() => undefined);
      if (!now) return; // removed with its replica
      if (now.size < position) position = 0; // truncated
    }
  } finally {
    await handle.close();
  }
}

/** Copies from `from` to the end of the file, or to `until` and then on to the end of the line it falls in. */
async function copyNewBytes(handle: fs.promises.FileHandle, from: number, out: Writable, signal: AbortSignal, until = Infinity): Promise<number> {
  let position = from;
  let last = NEWLINE; // the last byte copied
  const buffer = Buffer.alloc(CHUNK_BYTES);
  while (!signal.aborted) {
    const finishing = position >= until; // past the end asked for: only the rest of the line it ended in
    if (finishing && last === NEWLINE) break;
    const { bytesRead } = await handle.read(buffer, 0, finishing ? buffer.length : Math.min(buffer.length, until - position), position);
    if (bytesRead === 0) break;
    const newline = finishing ? buffer.indexOf(NEWLINE) : -1;
    const take = newline >= 0 && newline < bytesRead ? newline + 1 : bytesRead;
    position += take;
    last = buffer[take - 1];
    // Respect backpressure: a slow reader must not make the agent buffer a whole log in memory.
    if (!out.write(Buffer.from(buffer.subarray(0, take)))) await drained(out, signal);
  }
  return position;
}

function drained(out: Writable, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    out.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
