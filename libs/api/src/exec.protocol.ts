/**
 * The exec stream (contract between tsctl, the control plane's proxy and the node agent). After an
 * HTTP/1.1 `Upgrade: tide-exec` handshake (101 Switching Protocols), both directions carry frames:
 *
 *   +--------+----------------------+-----------------+
 *   | type   | length (uint32, BE)  | payload         |
 *   | 1 byte | 4 bytes              | length bytes    |
 *   +--------+----------------------+-----------------+
 *
 * Client → agent: STDIN (bytes), RESIZE (uint16 BE rows, uint16 BE cols), STDIN_EOF (empty).
 * Agent → client: STDOUT (bytes; with a tty everything the terminal shows), STDERR (bytes; never with
 * a tty), EXIT (JSON `{"code": number|null, "signal": string|null, "error"?: string}`), the last frame.
 * Types are explicit numbers so that a frame never depends on the order of an enum.
 */

export const EXEC_UPGRADE_PROTOCOL = 'tide-exec';

export const FrameType = {
  STDIN: 0,
  STDOUT: 1,
  STDERR: 2,
  RESIZE: 3,
  STDIN_EOF: 4,
  EXIT: 5,
} as const;

export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export interface ExecFrame {
  type: FrameType;
  payload: Buffer;
}

export interface ExecExit {
  code: number | null;
  signal: string | null;
  /** Set when the session broke rather than the process exiting (e.g. the runtime failed). */
  error?: string;
}

const HEADER_BYTES = 5;
/** Larger frames are a protocol error: a peer cannot make the other side buffer without bound. */
export const MAX_FRAME_BYTES = 1 << 20;

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

export function resizeFrame(rows: number, cols: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(clampSize(rows), 0);
  payload.writeUInt16BE(clampSize(cols), 2);
  return encodeFrame(FrameType.RESIZE, payload);
}

export function parseResize(payload: Buffer): { rows: number; cols: number } {
  if (payload.length !== 4) throw new ExecProtocolError(`a resize frame carries 4 bytes, got ${payload.length}`);
  return { rows: payload.readUInt16BE(0), cols: payload.readUInt16BE(2) };
}

export function exitFrame(exit: ExecExit): Buffer {
  return encodeFrame(FrameType.EXIT, JSON.stringify(exit));
}

export function parseExit(payload: Buffer): ExecExit {
  const value = JSON.parse(payload.toString('utf8')) as Partial<ExecExit>;
  return {
    code: typeof value.code === 'number' ? value.code : null,
    signal: typeof value.signal === 'string' ? value.signal : null,
    ...(typeof value.error === 'string' ? { error: value.error } : {}),
  };
}

function clampSize(n: number): number {
  return Math.max(0, Math.min(0xffff, Math.floor(n)));
}

export class ExecProtocolError extends Error {
  constructor(message: string) {
    super(`exec stream: ${message}`);
    this.name = 'ExecProtocolError';
  }
}

/** Cuts a byte stream into frames; bytes of an unfinished frame wait for the next chunk. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ExecFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: ExecFrame[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const type = this.pending.readUInt8(0);
      const length = this.pending.readUInt32BE(1);
      if (type > FrameType.EXIT) throw new ExecProtocolError(`unknown frame type ${type}`);
      if (length > MAX_FRAME_BYTES) throw new ExecProtocolError(`frame of ${length} bytes exceeds ${MAX_FRAME_BYTES}`);
      if (this.pending.length < HEADER_BYTES + length) break;
      frames.push({ type: type as FrameType, payload: this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length) });
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return frames;
  }

  /** Bytes of an incomplete frame (non-zero when a stream ends mid-frame). */
  get buffered(): number {
    return this.pending.length;
  }
}

/** A shell's exit code for an exit status: the code, or 128 + the signal's number (as sh reports it). */
export function exitCodeOf(exit: ExecExit, signalNumbers: Record<string, number>): number {
  if (exit.code !== null) return exit.code;
  if (exit.signal && signalNumbers[exit.signal] !== undefined) return 128 + signalNumbers[exit.signal];
  return exit.error ? 1 : 128;
}
