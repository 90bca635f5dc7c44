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

/** The position of the first of the last `lines` lines, read backwards chunk by chunk (never a whole file). */
export async function tailPosition(files: string[], lines: number): Promise<LogPosition> {
  if (files.length === 0) return { file: 0, offset: 0 };
  // None: the end of the file the container writes (a follower gets only what comes next).
  if (lines === 0) return { file: files.length - 1, offset: (await fs.promises.stat(files[files.length - 1]).catch(() => undefined))?.size ?? 0 };
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let wanted = lines;
  let atEnd = true; // the newline ending the very last line does not start another one
  for (let file = files.length - 1; file >= 0; file--) {
    const handle = await fs.promises.open(files[file], 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      let end = (await handle.stat()).size;
      while (end > 0) {
        const start = Math.max(0, end - CHUNK_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, end - start, start);
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
        end = start;
      }
    } finally {
      await handle.close();
    }
  }
  return { file: 0, offset: 0 }; // fewer lines than asked for: all of them
}

/** The later of two positions. */
export function laterPosition(a: LogPosition, b: LogPosition): LogPosition {
  return a.file > b.file || (a.file === b.file && a.offset >= b.offset) ? a : b;
}

/** Streams the files from `from` to their end; with follow, the last one keeps being followed. */
export async function streamLogFiles(files: string[], from: LogPosition, out: Writable, options: { follow: boolean; signal: AbortSignal; pollMs?: number }): Promise<void> {
  for (let file = from.file; file < files.length && !options.signal.aborted; file++) {
    const last = file === files.length - 1;
    const offset = file === from.file ? from.offset : 0;
    await streamLogFile(files[file], out, { ...options, follow: options.follow && last, from: offset }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // rotated away meanwhile: its bytes are in the next file
    });
  }
}
