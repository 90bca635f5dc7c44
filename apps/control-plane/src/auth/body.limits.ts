/**
 * Caps on what a caller may send (issue 14, exhaustion): JSON bodies are parsed up to
 * MAX_JSON_BODY_BYTES, image archives and build contexts stream up to MAX_UPLOAD_BYTES; beyond
 * either the answer is 413 naming the limit, as JSON like every API error.
 */
import { HttpException, INestApplication } from '@nestjs/common';
import { json, type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

/** An apply of a few hundred services fits; etcd keeps at most 1.5 MiB per object anyway. */
export const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;
/** Image archives and build contexts (streamed to disk or to an agent, never held in memory). */
export const MAX_UPLOAD_BYTES = 4 * 1024 * 1024 * 1024;

export function formatBytes(bytes: number): string {
  const units: Array<[number, string]> = [[2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [size, unit] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}

/** The API's JSON parser with its limit; its failures answered as API errors instead of Express' HTML page. */
export function useBodyLimits(app: INestApplication, limit = MAX_JSON_BODY_BYTES): void {
  app.use(json({ limit }));
  app.use((error: { type?: string; status?: number; message?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (error?.type === 'entity.too.large') {
      return void res.status(413).json({ error: `request body larger than ${formatBytes(limit)}, the API's limit for JSON`, details: [] });
    }
    if (error?.type === 'entity.parse.failed') {
      return void res.status(400).json({ error: `request body is not valid JSON: ${error.message}`, details: [] });
    }
    if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      return void res.status(error.status).json({ error: error.message ?? 'bad request body', details: [] });
    }
    next(error);
  });
}

export class UploadTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`upload larger than ${formatBytes(limit)}, the API's limit for image archives and build contexts`);
  }
}

/** Passes bytes through until `limit`, then fails with UploadTooLarge (a chunked upload has no length to check first). */
export class UploadLimit extends Transform {
  private seen = 0;
  exceeded = false;

  constructor(readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.exceeded = true;
      return done(new UploadTooLarge(this.limit));
    }
    done(null, chunk);
  }
}

/**
 * The request body behind an UploadLimit; a declared length over the limit is refused before a
 * byte is read. The caller answers 413 when the stream fails with UploadTooLarge.
 */
export function limitedUpload(req: IncomingMessage, limit = MAX_UPLOAD_BYTES): UploadLimit {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(new UploadTooLarge(limit));
  const limited = new UploadLimit(limit);
  req.on('error', (error) => limited.destroy(error));
  return req.pipe(limited);
}

export function tooLarge(error: UploadTooLarge): HttpException {
  return new HttpException({ error: error.message, details: [] }, 413);
}
