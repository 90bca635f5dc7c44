import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChunkedBody } from './chunked.body';
import { headEnd, isIdempotent, parseRequestHead, parseResponseHead } from './http.head';

const request = (text: string) => parseRequestHead(text.replace(/\n/g, '\r\n'));
const response = (text: string, method = 'GET') => parseResponseHead(text.replace(/\n/g, '\r\n'), method);

describe('HTTP heads', () => {
  it('finds the end of a head, also when it arrives in pieces', () => {
    const bytes = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nbody');
    assert.equal(headEnd(bytes), bytes.length - 4);
    assert.equal(headEnd(bytes.subarray(0, 20)), -1);
  });

  // [request head, expected framing / close / upgrade]
  const requests: [string, unknown][] = [
    ['GET / HTTP/1.1\nHost: a', { method: 'GET', framing: { kind: 'none' }, close: false, upgrade: false }],
    ['POST /x HTTP/1.1\ncontent-length: 12', { method: 'POST', framing: { kind: 'length', length: 12 }, close: false, upgrade: false }],
    ['POST /x HTTP/1.1\nContent-Length: 0', { method: 'POST', framing: { kind: 'none' }, close: false, upgrade: false }],
    ['POST /x HTTP/1.1\nTransfer-Encoding: gzip, chunked', { method: 'POST', framing: { kind: 'chunked' }, close: false, upgrade: false }],
    ['GET / HTTP/1.1\nConnection: close', { method: 'GET', framing: { kind: 'none' }, close: true, upgrade: false }],
    ['GET / HTTP/1.0', { method: 'GET', framing: { kind: 'none' }, close: true, upgrade: false }],
    ['GET / HTTP/1.0\nConnection: Keep-Alive', { method: 'GET', framing: { kind: 'none' }, close: false, upgrade: false }],
    ['GET /ws HTTP/1.1\nConnection: Upgrade\nUpgrade: websocket', { method: 'GET', framing: { kind: 'none' }, close: false, upgrade: true }],
    ['GET / HTTP/1.1\nContent-Length: 5\nContent-Length: 5', { method: 'GET', framing: { kind: 'length', length: 5 }, close: false, upgrade: false }],
    ['PUT /x HTTP/1.1\nCONTENT-LENGTH: \t7 \nX-Long-Header-Name: 1', { method: 'PUT', framing: { kind: 'length', length: 7 }, close: false, upgrade: false }],
    // A name that only looks like Content-Length once its CR is taken for a '-' is not one.
    ['POST /x HTTP/1.1\nContent\rLength: 5', { method: 'POST', framing: { kind: 'none' }, close: false, upgrade: false }],
    ['GET /ws HTTP/1.0\nconnection: Keep-Alive, UPGRADE\nupgrade: websocket', { method: 'GET', framing: { kind: 'none' }, close: false, upgrade: true }],
    ['GET / HTTP/1.1\nKeep-Alive: close', { method: 'GET', framing: { kind: 'none' }, close: false, upgrade: false }],
  ];
  for (const [text, expected] of requests) {
    it(`reads ${JSON.stringify(text)}`, () => assert.deepEqual(request(text), { ok: true, head: expected }));
  }

  // Requests a proxy must refuse: the ways requests are smuggled past one (RFC 9112 6.3).
  const refused: [string, RegExp][] = [
    ['POST / HTTP/1.1\nContent-Length: 5\nTransfer-Encoding: chunked', /without Content-Length/],
    ['POST / HTTP/1.1\nContent-Length: 5\nContent-Length: 6', /invalid Content-Length/],
    ['POST / HTTP/1.1\nContent-Length: -1', /invalid Content-Length/],
    ['POST / HTTP/1.1\nContent-Length: 1e3', /invalid Content-Length/],
    ['POST / HTTP/1.1\nTransfer-Encoding: chunked, gzip', /must end in chunked/],
    ['GET / HTTP/2.0', /not an HTTP\/1.x request line/],
    ['hello', /not an HTTP\/1.x request line/],
  ];
  for (const [text, error] of refused) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = request(text);
      assert.ok(!parsed.ok);
      assert.match(parsed.error, error);
    });
  }

  const responses: [string, string, unknown][] = [
    ['HTTP/1.1 200 OK\nContent-Length: 3', 'GET', { status: 200, framing: { kind: 'length', length: 3 }, close: false }],
    ['HTTP/1.1 200 OK\nContent-Length: 3', 'HEAD', { status: 200, framing: { kind: 'none' }, close: false }],
    ['HTTP/1.1 204 No Content', 'GET', { status: 204, framing: { kind: 'none' }, close: false }],
    ['HTTP/1.1 304 Not Modified\nContent-Length: 10', 'GET', { status: 304, framing: { kind: 'none' }, close: false }],
    ['HTTP/1.1 100 Continue', 'POST', { status: 100, framing: { kind: 'none' }, close: false }],
    ['HTTP/1.1 200 OK\nTransfer-Encoding: chunked', 'GET', { status: 200, framing: { kind: 'chunked' }, close: false }],
    ['HTTP/1.1 200 OK', 'GET', { status: 200, framing: { kind: 'close' }, close: true }],
    ['HTTP/1.0 200 OK\nContent-Length: 2', 'GET', { status: 200, framing: { kind: 'length', length: 2 }, close: true }],
    ['HTTP/1.1 500 Oops\nConnection: close\nContent-Length: 2', 'GET', { status: 500, framing: { kind: 'length', length: 2 }, close: true }],
  ];
  for (const [text, method, expected] of responses) {
    it(`reads the answer ${JSON.stringify(text)} to ${method}`, () => assert.deepEqual(response(text, method), { ok: true, head: expected }));
  }

  it('refuses a status line that is not HTTP/1.x', () => {
    assert.ok(!response('SSH-2.0-OpenSSH').ok);
    assert.ok(!response('HTTP/1.1 abc').ok);
  });

  it('retries only idempotent methods', () => {
    assert.deepEqual(['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH'].map(isIdempotent), [true, true, true, true, false, false]);
  });
});

describe('ChunkedBody', () => {
  const body = Buffer.from('4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT');

  it('finds the end of a chunked body with extensions and trailers', () => {
    assert.equal(new ChunkedBody().consume(body), body.length - 4);
  });

  it('finds the same end whatever the pieces the bytes come in', () => {
    for (let cut = 1; cut < body.length - 4; cut++) {
      const tracker = new ChunkedBody();
      assert.equal(tracker.consume(body.subarray(0, cut)), -1, `cut at ${cut}`);
      assert.equal(tracker.consume(body.subarray(cut)), body.length - 4 - cut, `cut at ${cut}`);
    }
  });

  it('ends at the last chunk without trailers, and says what is wrong with a bad body', () => {
    assert.equal(new ChunkedBody().consume(Buffer.from('0\r\n\r\n')), 5);
    const bad = new ChunkedBody();
    assert.equal(bad.consume(Buffer.from('zz\r\n')), -1);
    assert.equal(bad.error, 'chunk size expected');
    const overrun = new ChunkedBody();
    overrun.consume(Buffer.from('2\r\nabc\r\n'));
    assert.equal(overrun.error, 'CRLF expected after chunk data');
  });
});
