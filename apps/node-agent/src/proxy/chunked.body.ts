/**
 * Finds where a chunked body ends (RFC 9112 section 7.1) as its bytes stream by, without decoding
 * it: the balancer forwards the bytes as they are and only needs to know when the message is over.
 */

const enum State { Size, Extension, SizeLf, Data, DataCr, DataLf, TrailerStart, TrailerLine, TrailerLf, FinalLf }

const CR = 13;
const LF = 10;

export class ChunkedBody {
  private state = State.Size;
  private remaining = 0;
  private digits = 0;
  /** Set when the bytes are not a chunked body; the connection must be dropped. */
  error?: string;

  /**
   * Consumes `buffer[from..]`; returns the index just past the body's end, -1 when the body goes
   * on in later bytes (or is malformed: see `error`).
   */
  consume(buffer: Buffer, from = 0): number {
    let i = from;
    const length = buffer.length;
    while (i < length) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.remaining, length - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = State.DataCr;
          continue;
        }
        case State.Size: {
          const value = hexValue(buffer[i]);
          if (value >= 0) {
            if (++this.digits > 12) return this.fail('chunk size too large');
            this.remaining = this.remaining * 16 + value;
          } else if (this.digits === 0) {
            return this.fail('chunk size expected');
          } else if (buffer[i] === CR) {
            this.state = State.SizeLf;
          } else if (buffer[i] === 0x3b || buffer[i] === 0x20 || buffer[i] === 0x09) {
            this.state = State.Extension;
          } else {
            return this.fail('bad chunk size');
          }
          break;
        }
        case State.Extension:
          if (buffer[i] === CR) this.state = State.SizeLf;
          break;
        case State.SizeLf:
          if (buffer[i] !== LF) return this.fail('CRLF expected after the chunk size');
          this.digits = 0;
          this.state = this.remaining === 0 ? State.TrailerStart : State.Data;
          break;
        case State.DataCr:
          if (buffer[i] !== CR) return this.fail('CRLF expected after chunk data');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (buffer[i] !== LF) return this.fail('CRLF expected after chunk data');
          this.state = State.Size;
          break;
        case State.TrailerStart:
          this.state = buffer[i] === CR ? State.FinalLf : State.TrailerLine;
          break;
        case State.TrailerLine:
          if (buffer[i] === CR) this.state = State.TrailerLf;
          break;
        case State.TrailerLf:
          if (buffer[i] !== LF) return this.fail('CRLF expected after a trailer');
          this.state = State.TrailerStart;
          break;
        case State.FinalLf:
          if (buffer[i] !== LF) return this.fail('CRLF expected at the end of the body');
          return i + 1;
      }
      i++;
    }
    return -1;
  }

  private fail(message: string): number {
    this.error = message;
    return -1;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}
