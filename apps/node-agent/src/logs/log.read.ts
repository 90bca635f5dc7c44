/**
 * Reading a container's log files (oldest first, as LogFiles.existing lists them) for `tsctl logs`:
 * where the last N lines start, and streaming from a position to the end (following the last file,
 * the one the container writes, when asked).
 */
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { streamLogFile } from '../http/log.stream';
import type { LogPosition } from './log.rotator';

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * The position of the first of the last `lines` lines before `end` (default: the end of the last
 * file), read backwards chunk by chunk (never a whole file).
 */
export async function tailPosition(files: string[], lines: number, end?: LogPosition): Promise<LogPosition> {
  if (files.length === 0) return { file: 0, offset: 0 };
  // None: the end of the file the container writes (a follower gets only what comes next).
  if (lines === 0) return end ?? { file: files.length - 1, offset: await sizeOf(files[files.length - 1]) };
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let wanted = lines;
  let atEnd = true; // the newline ending the very last line does not start another one
  for (let file = end?.file ?? files.length - 1; file >= 0; file--) {
    const handle = await fs.promises.open(files[file], 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      let stop = end?.file === file ? end.offset : (await handle.stat()).size;
      while (stop > 0) {
        const start = Math.max(0, stop - CHUNK_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, stop - start, start);
        for (let i = bytesRead - 1; i >= 0; i--) {
          if (buffer[i] !== NEWLINE) {
            atEnd = false;
            continue;
          }
          if (atEnd) {
            atEnd = false;
            continue;
          }
          if (--wanted === 0) return { file, offset: start + i + 1 };
        }
        stop = start;
      }
    } finally {
      await handle.close();
    }
  }
  return { file: 0, offset: 0 }; // fewer lines than asked for: all of them
}

/** The end of the last file now: what a request that does not follow reads up to. */
export async function endPosition(files: string[]): Promise<LogPosition> {
  return { file: files.length - 1, offset: await sizeOf(files[files.length - 1]) };
}

async function sizeOf(file: string): Promise<number> {
  return (await fs.promises.stat(file).catch(() => undefined))?.size ?? 0;
}

/** The later of two positions. */
export function laterPosition(a: LogPosition, b: LogPosition): LogPosition {
  return a.file > b.file || (a.file === b.file && a.offset >= b.offset) ? a : b;
}

/**
 * Streams the files from `from` to their end, or to `until` (then to the end of the line it falls
 * in); with follow, the last one keeps being followed.
 */
export async function streamLogFiles(files: string[], from: LogPosition, out: Writable, options: { follow: boolean; signal: AbortSignal; pollMs?: number; until?: LogPosition }): Promise<void> {
  const lastFile = options.until?.file ?? files.length - 1;
  for (let file = from.file; file <= lastFile && !options.signal.aborted; file++) {
    const last = file === files.length - 1;
    const offset = file === from.file ? from.offset : 0;
    const until = file === options.until?.file ? options.until.offset : undefined;
    await streamLogFile(files[file], out, { ...options, follow: options.follow && last, from: offset, until }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // rotated away meanwhile: its bytes are in the next file
    });
  }
}
