/**
 * The client's one door to the network: undici with the registry's CA (not the system's roots when
 * one is given), a connect deadline, a deadline for the answer's head and for every pause in a body,
 * and an overall deadline for small requests. Connection failures and timeouts become RegistryErrors
 * naming the registry and what was being done.
 */
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { RegistryError } from './errors';

export interface TransportOptions {
  /** PEM of the CA(s) to trust instead of the system's. */
  ca?: string | Buffer;
  connectTimeoutMs: number;
  /** A client certificate presented on every TLS connection (a node's, towards the cluster's token service). */
  clientCertificate?: { cert: string; key: string };
  /** Longest wait for a response's head, and longest pause inside a body. */
  idleTimeoutMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** The whole exchange (head and body) must finish within this; for small requests. */
  deadlineMs?: number;
  /** Said in errors: "fetching the manifest of web:1", ... */
  what: string;
}

export type HttpResponse = Dispatcher.ResponseData;

export class Transport {
  private readonly agent: Agent;

  constructor(private readonly options: TransportOptions) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs, ...(options.ca ? { ca: options.ca } : {}), ...(options.clientCertificate ?? {}) },
      headersTimeout: options.idleTimeoutMs, bodyTimeout: options.idleTimeoutMs,
    });
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const signal = req.deadlineMs ? AbortSignal.timeout(req.deadlineMs) : undefined;
    try {
      return await request(req.url, {
        method: req.method, headers: req.headers, body: req.body, dispatcher: this.agent,
        headersTimeout: this.options.idleTimeoutMs, bodyTimeout: this.options.idleTimeoutMs,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw networkError(error, req.url, req.what, this.options.idleTimeoutMs, req.deadlineMs);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** Reads a whole body, refusing one longer than `max` bytes (the Content-Length is checked first). */
export async function readBody(response: HttpResponse, max: number, what: string, url: string, idleMs: number): Promise<Buffer> {
  const length = Number(response.headers['content-length']);
  if (Number.isFinite(length) && length > max) {
    abandon(response);
    throw new RegistryError('TooLarge', `${what}: the registry announced ${length} bytes, more than the limit of ${max}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      total += (chunk as Buffer).length;
      if (total > max) {
        abandon(response);
        throw new RegistryError('TooLarge', `${what}: more than the limit of ${max} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw networkError(error, url, what, idleMs);
  }
  return Buffer.concat(chunks);
}

/** Stops reading a body midway: the connection is closed (its abort is expected, not an error to report). */
export function abandon(response: HttpResponse): void {
  response.body.on('error', () => undefined);
  response.body.destroy();
}

/** Drains and discards a body so that the connection can be reused. */
export async function discard(response: HttpResponse): Promise<void> {
  await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

export function networkError(error: unknown, url: string, what: string, idleMs: number, deadlineMs?: number): RegistryError {
  if (error instanceof RegistryError) return error;
  const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const host = safeHost(url);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new RegistryError('Timeout', `${what}: ${host} sent no answer within ${idleMs} ms`);
  if (code === 'UND_ERR_BODY_TIMEOUT') return new RegistryError('Timeout', `${what}: ${host} stopped sending for ${idleMs} ms`);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new RegistryError('Timeout', `${what}: could not connect to ${host} in time`);
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new RegistryError('Timeout', `${what}: ${host} did not finish within ${deadlineMs ?? idleMs} ms`);
  const reason = e.cause?.message ?? e.message ?? String(error);
  return new RegistryError('Unreachable', `${what}: cannot reach ${host}: ${code ? `${code} ` : ''}${reason}`);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** A response header's value (the first, where it came more than once). */
export function header(response: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
