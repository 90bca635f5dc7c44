import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { HttpException } from '@nestjs/common';
import { UploadLimit, UploadTooLarge, formatBytes, limitedUpload } from './body.limits';

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

describe('upload limits', () => {
  it('passes an upload up to the limit and fails one byte past it, however it is chunked', async () => {
    assert.equal(await drain(Readable.from([Buffer.alloc(6), Buffer.alloc(4)]).pipe(new UploadLimit(10))), 10);
    const over = new UploadLimit(10);
    await assert.rejects(drain(Readable.from([Buffer.alloc(6), Buffer.alloc(5)]).pipe(over)),
      (error: unknown) => error instanceof UploadTooLarge && error.message === "upload larger than 10 bytes, the API's limit for image archives and build contexts");
    assert.equal(over.exceeded, true);
  });

  it('refuses a declared Content-Length over the limit before reading a byte (413 naming it)', () => {
    const req = Object.assign(new PassThrough(), { headers: { 'content-length': String(5 * 2 ** 30) } }) as unknown as IncomingMessage;
    assert.throws(() => limitedUpload(req), (error: unknown) => error instanceof HttpException && error.getStatus() === 413
      && (error.getResponse() as { error: string }).error === "upload larger than 4 GiB, the API's limit for image archives and build contexts");
  });

  it('names sizes as a person would', () => {
    assert.deepEqual([formatBytes(4 * 2 ** 20), formatBytes(2 ** 30), formatBytes(1536), formatBytes(1000)], ['4 MiB', '1 GiB', '1536 bytes', '1000 bytes']);
  });
});
