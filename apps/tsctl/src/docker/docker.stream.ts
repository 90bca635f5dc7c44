/**
 * Docker's multiplexed stream (a container without a terminal): each frame is an 8-byte header (the
 * stream: 0 stdin, 1 stdout, 2 stderr; three zero bytes; the payload's length, big-endian 32-bit)
 * then the payload. Tide keeps a container's stdout and stderr in one log, so its frames are stdout.
 */
export const STDOUT = 1;
export const STDERR = 2;
/** The payload of one frame at most: a big chunk is cut, as dockerd's writer does. */
const MAX_FRAME = 32 * 1024;

export function frames(stream: number, payload: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < payload.length; start += MAX_FRAME) {
    const part = payload.subarray(start, start + MAX_FRAME);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(part.length, 4);
    out.push(header, Buffer.from(part));
  }
  return out;
}

/** The payloads of a multiplexed stream per stream number (the inverse, for tests and clients). */
export function demultiplex(data: Buffer): { stream: number; payload: Buffer }[] {
  const out: { stream: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 8 <= data.length) {
    const length = data.readUInt32BE(at + 4);
    out.push({ stream: data[at], payload: data.subarray(at + 8, at + 8 + length) });
    at += 8 + length;
  }
  if (at !== data.length) throw new Error(`multiplexed stream: ${data.length - at} bytes after the last whole frame`);
  return out;
}
