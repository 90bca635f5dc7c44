/**
 * The little of HTTP/1.1 the balancer must understand to carry requests over keep-alive connections
 * without re-encoding them: where a head ends, how long the body after it is (RFC 9112 section 6),
 * and whether the connection stays open. Heads are read as latin1 text, headers are forwarded as
 * they came. Pure, allocation-light (the balancer parses every request and response).
 */

/** A head longer than this is refused (431), as nginx's large_client_header_buffers would. */
export const MAX_HEAD_BYTES = 64 * 1024;

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Index just past the blank line ending the head that starts at `from`, or -1 when not complete yet. */
export function headEnd(buffer: Buffer, from = 0): number {
  const at = buffer.indexOf(CRLFCRLF, from);
  return at < 0 ? -1 : at + 4;
}

/** How the body after a head is delimited. */
export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Response only: the body runs until the server closes the connection. */
  | { kind: 'close' };

// Shared by every head that has them (read only).
const NONE: BodyFraming = Object.freeze({ kind: 'none' });
const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' });
const UNTIL_CLOSE: BodyFraming = Object.freeze({ kind: 'close' });

export interface RequestHead {
  method: string;
  framing: BodyFraming;
  /** The client wants the connection closed after this exchange (HTTP/1.0 without keep-alive, or `Connection: close`). */
  close: boolean;
  /** `Connection: upgrade` with an `Upgrade` header (WebSocket...): the connection becomes a tunnel on 101. */
  upgrade: boolean;
}

export interface ResponseHead {
  status: number;
  framing: BodyFraming;
  close: boolean;
}

export type Parsed<T> = { ok: true; head: T } | { ok: false; error: string };

interface HeaderFacts {
  contentLength?: number;
  badLength: boolean;
  chunked: boolean;
  /** Transfer-Encoding present but not ending in chunked. */
  otherEncoding: boolean;
  /** Tokens of the Connection headers. */
  close: boolean;
  keepAlive: boolean;
  upgradeToken: boolean;
  hasUpgrade: boolean;
}

const SP = 0x20;
const TAB = 0x09;

/** Whether text[from..from+name.length) is `name` (lower case letters and '-') in any case. */
function nameIs(text: string, from: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const code = text.charCodeAt(from + i);
    const want = name.charCodeAt(i);
    // Only a letter has an upper case, 0x20 below its lower case.
    if (code !== want && (want < 0x61 || code !== want - 0x20)) return false;
  }
  return true;
}

/** Content-Length's value, 1 to 15 digits and nothing else (no sign, no exponent), or NaN. */
function decimal(text: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return NaN;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Reads the headers the framing depends on. This runs for every request and answer, so names are
 * compared in place (by length first, then code by code) and no string is made for the others.
 */
function headerFacts(text: string, firstLineEnd: number): HeaderFacts {
  const facts: HeaderFacts = { badLength: false, chunked: false, otherEncoding: false, close: false, keepAlive: false, upgradeToken: false, hasUpgrade: false };
  let start = firstLineEnd + 2;
  while (start < text.length) {
    let end = text.indexOf('\r\n', start);
    if (end < 0) end = text.length;
    if (end === start) break;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      // The value without the spaces and tabs around it (RFC 9110 5.5).
      let from = colon + 1;
      let to = end;
      while (from < to && (text.charCodeAt(from) === SP || text.charCodeAt(from) === TAB)) from++;
      while (to > from && (text.charCodeAt(to - 1) === SP || text.charCodeAt(to - 1) === TAB)) to--;
      readHeader(facts, text, start, colon - start, from, to);
    }
    start = end + 2;
  }
  return facts;
}

function readHeader(facts: HeaderFacts, text: string, name: number, nameLength: number, from: number, to: number): void {
  if (nameLength === 14 && nameIs(text, name, 'content-length')) {
    const length = decimal(text, from, to);
    if (Number.isNaN(length) || (facts.contentLength !== undefined && facts.contentLength !== length)) facts.badLength = true;
    facts.contentLength = length;
  } else if (nameLength === 17 && nameIs(text, name, 'transfer-encoding')) {
    const last = text.slice(from, to).toLowerCase().split(',').pop()!.trim();
    if (last === 'chunked') facts.chunked = true;
    else facts.otherEncoding = true;
  } else if (nameLength === 10 && nameIs(text, name, 'connection')) {
    // The usual single token is matched in place; a list is lower-cased and searched.
    if (to - from === 10 && nameIs(text, from, 'keep-alive')) facts.keepAlive = true;
    else if (to - from === 5 && nameIs(text, from, 'close')) facts.close = true;
    else readConnection(facts, text.slice(from, to).toLowerCase());
  } else if (nameLength === 7 && nameIs(text, name, 'upgrade')) {
    facts.hasUpgrade = true;
  }
}

/** A Connection header's tokens (`value` lower case). */
function readConnection(facts: HeaderFacts, value: string): void {
  if (value.includes('close')) facts.close = true;
  if (value.includes('keep-alive')) facts.keepAlive = true;
  if (value.includes('upgrade')) facts.upgradeToken = true;
}

function wantsClose(http10: boolean, facts: HeaderFacts): boolean {
  if (facts.close) return true;
  return http10 && !facts.keepAlive;
}

/** `text` is the head without its final blank line. */
export function parseRequestHead(text: string): Parsed<RequestHead> {
  const lineEnd = indexOrLength(text, '\r\n');
  const line = text.slice(0, lineEnd);
  const firstSpace = line.indexOf(' ');
  const lastSpace = line.lastIndexOf(' ');
  const version = line.slice(lastSpace + 1);
  if (firstSpace <= 0 || lastSpace === firstSpace || (version !== 'HTTP/1.1' && version !== 'HTTP/1.0')) {
    return { ok: false, error: `not an HTTP/1.x request line: ${JSON.stringify(line.slice(0, 80))}` };
  }
  const facts = headerFacts(text, lineEnd);
  // Both, or a length that is not one number, is how requests are smuggled past proxies: refused (RFC 9112 6.3).
  if (facts.badLength) return { ok: false, error: 'invalid Content-Length' };
  if (facts.otherEncoding || (facts.chunked && facts.contentLength !== undefined)) {
    return { ok: false, error: 'Transfer-Encoding must end in chunked and come without Content-Length' };
  }
  const framing: BodyFraming = facts.chunked ? CHUNKED
    : facts.contentLength ? { kind: 'length', length: facts.contentLength } : NONE;
  return {
    ok: true,
    head: {
      method: line.slice(0, firstSpace), framing, close: wantsClose(version === 'HTTP/1.0', facts),
      upgrade: facts.hasUpgrade && facts.upgradeToken,
    },
  };
}

/** `method` is the request's: the answer to a HEAD has no body whatever its headers say. */
export function parseResponseHead(text: string, method: string): Parsed<ResponseHead> {
  const lineEnd = indexOrLength(text, '\r\n');
  const http10 = text.startsWith('HTTP/1.0 ');
  if (!(http10 || text.startsWith('HTTP/1.1 ')) || lineEnd < 12) {
    return { ok: false, error: `not an HTTP/1.x status line: ${JSON.stringify(text.slice(0, Math.min(lineEnd, 80)))}` };
  }
  const status = Number(text.slice(9, 12));
  if (!Number.isInteger(status) || status < 100) return { ok: false, error: `bad status ${JSON.stringify(text.slice(9, 12))}` };
  const facts = headerFacts(text, lineEnd);
  if (facts.badLength) return { ok: false, error: 'invalid Content-Length' };
  let framing: BodyFraming;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) framing = NONE;
  else if (facts.chunked) framing = CHUNKED;
  else if (facts.otherEncoding) framing = UNTIL_CLOSE;
  else if (facts.contentLength !== undefined) framing = facts.contentLength ? { kind: 'length', length: facts.contentLength } : NONE;
  else framing = UNTIL_CLOSE;
  return { ok: true, head: { status, framing, close: framing.kind === 'close' || wantsClose(http10, facts) } };
}

function indexOrLength(text: string, search: string): number {
  const at = text.indexOf(search);
  return at < 0 ? text.length : at;
}

/** Whether a request may be sent again after its connection failed before any answer (RFC 9110 9.2.2). */
export function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE' || method === 'TRACE';
}
