/** Small helpers shared by the agent's HTTP handlers: answers, error statuses, request bodies to files. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}

/** Errors of the image and exec endpoints are JSON `{ "error": "..." }`, as the control plane's are. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(`${JSON.stringify(value)}\n`);
}

export function sendError(res: http.ServerResponse, error: unknown): void {
  sendJson(res, statusOf(error), { error: messageOf(error) });
}

/** An answer written straight to a socket that asked for an upgrade the agent refuses. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${JSON.stringify({ error: message })}\n`;
  socket.end([
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body,
  ].join('\r\n'));
}

/**
 * RuntimeError codes, and the image service's and the tar reader's errors (bad input), as HTTP
 * statuses; anything else is the agent's own failure.
 */
export function statusOf(error: unknown): number {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (code === 'NotFound' || code === 'ImageNotFound') return 404;
  if (code === 'Paused') return 409;
  if (code === 'InvalidSpec' || name === 'ImageError' || name === 'TarError' || name === 'BadRequest') return 400;
  return 500;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/** Saves a request body (an archive) to a new file in dir; the caller removes it. */
export async function saveBody(req: http.IncomingMessage, dir: string, prefix: string): Promise<string> {
  await fs.promises.mkdir(dir, { recursive: true });
  const file = `${await fs.promises.mkdtemp(`${dir}/${prefix}`)}/body`;
  await pipeline(req, fs.createWriteStream(file, { mode: 0o600 }));
  return file;
}

/** `?follow`, `?follow=1` and `?follow=true` are true; `?follow=0` and `?follow=false` are not. */
export function isTrue(value: string | null): boolean {
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}

const MAX_JSON_BODY = 1024 * 1024;

/** A small JSON object body (at most 1 MiB). */
export async function readJsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY) throw new BadRequest(`the request body is over ${MAX_JSON_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw new BadRequest('the request body must be a JSON object');
}

