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
}

const CHUNK_BYTES = 64 * 1024;

export async function streamLogFile(file: string, out: Writable, options: LogStreamOptions): Promise<void> {
  let position = options.from ?? 0;
  const handle = await fs.promises.open(file, 'r');
  try {
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

async function copyNewBytes(handle: fs.promises.FileHandle, from: number, out: Writable, signal: AbortSignal): Promise<number> {
  let position = from;
  const buffer = Buffer.alloc(CHUNK_BYTES);
  while (!signal.aborted) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    // Respect backpressure: a slow reader must not make the agent buffer a whole log in memory.
    if (!out.write(Buffer.from(buffer.subarray(0, bytesRead)))) await drained(out, signal);
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
