/**
 * The HTTPS API client: trusts the cluster CA of the credential file (not the system's), sends the
 * bearer token, and turns connection failures and API errors into one clear line for the user.
 */
import { Agent } from 'undici';
import { FORWARDED_CERTIFICATE_HEADER } from '@tide/auth';
import type { Credentials } from './cli.config';

export interface ErrorDetail {
  document: number;
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class ApiClient {
  readonly server: string;
  private readonly dispatcher?: Agent;

  constructor(readonly credentials: Credentials | string) {
    const given = typeof credentials === 'string' ? { server: credentials } : credentials;
    this.server = given.server;
    const connect = { ...(given.ca ? { ca: given.ca } : {}), ...(given.clientCertificate ?? {}) };
    if (Object.keys(connect).length > 0) this.dispatcher = new Agent({ connect });
  }

  /** The Authorization header, when there is a token, and the certificate of the caller it acts for. */
  authHeaders(): Record<string, string> {
    return authHeadersOf(this.credentials);
  }

  /** The same credential acting for the caller of this certificate (DER): a client of its own (its own connections). */
  forwarding(certificateDer: Buffer): ApiClient {
    const given = typeof this.credentials === 'string' ? { server: this.credentials } : this.credentials;
    return new ApiClient({ ...given, forwardedCertificate: certificateDer.toString('base64') });
  }

  /** Lets the process exit without waiting for idle connections to time out. */
  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  get<T>(pathAndQuery: string): Promise<T> {
    return this.request<T>('GET', pathAndQuery);
  }

  async request<T>(method: string, pathAndQuery: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, pathAndQuery, body);
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) throw errorFromResponse(response, parsed, text);
    return parsed as T;
  }

  /** The raw response (for streams); connection failures become an ApiError naming the server. */
  async fetch(method: string, pathAndQuery: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(this.server + pathAndQuery, {
        method, ...(signal ? { signal } : {}),
        headers: { ...this.authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      } as RequestInit);
    } catch (error) {
      throw connectionError(this.server, error);
    }
  }

  /** Streams a body (an archive) without holding it in memory; the raw response, as fetch() gives it. */
  async upload(pathAndQuery: string, body: NodeJS.ReadableStream, contentType = 'application/x-tar', method = 'POST'): Promise<Response> {
    try {
      return await fetch(this.server + pathAndQuery, {
        method, body: body as unknown as ReadableStream, headers: { ...this.authHeaders(), 'content-type': contentType }, duplex: 'half',
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      } as RequestInit);
    } catch (error) {
      throw connectionError(this.server, error);
    }
  }
}

export function authHeadersOf(credentials: Credentials | string): Record<string, string> {
  if (typeof credentials === 'string') return {};
  return {
    ...(credentials.token ? { authorization: `Bearer ${credentials.token}` } : {}),
    ...(credentials.forwardedCertificate ? { [FORWARDED_CERTIFICATE_HEADER]: credentials.forwardedCertificate } : {}),
  };
}

/** OpenSSL's verdicts on a server certificate tsctl does not trust. */
const UNTRUSTED = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']);

export function connectionError(server: string, error: unknown): ApiError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? cause?.message ?? (error as Error).message;
  if (code === 'ECONNREFUSED') {
    return new ApiError(`cannot connect to the Tide API at ${server} (connection refused): is the cluster running? Start one with "tsctl up"`, 0);
  }
  if (UNTRUSTED.has(code)) {
    return new ApiError(`the Tide API at ${server} presented a certificate tsctl does not trust (${code}): give the cluster's CA with --ca-file, or use the config "tsctl up" wrote ($TIDE_CONFIG, ~/.tide/config)`, 0);
  }
  if (code === 'ECONNRESET' && server.startsWith('http:')) {
    return new ApiError(`the Tide API at ${server} closed the connection: the API speaks HTTPS only, use an https:// --server`, 0);
  }
  return new ApiError(`cannot reach the Tide API at ${server} (${code}); check --server or start a cluster with "tsctl up"`, 0);
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

export async function errorFromFetchResponse(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  return errorFromResponse(response, parseJson(text), text);
}

function errorFromResponse(response: Response, parsed: unknown, text: string): ApiError {
  const body = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { error?: unknown; message?: unknown; details?: ErrorDetail[] };
  // NestJS errors carry `message` (a string or a list); ours carry `error`.
  const message = [body.error, body.message].find((m) => typeof m === 'string' && m.length > 0)
    ?? (Array.isArray(body.message) ? body.message.join('; ') : undefined)
    ?? (text.trim() || `${response.status} ${response.statusText}`);
  // A 401 is about tsctl's credential, not the request: say where it comes from.
  const hint = response.status === 401 ? ' (tsctl sends the token of $TIDE_CONFIG or ~/.tide/config, or --token)' : '';
  return new ApiError(`${String(message)}${hint}`, response.status, Array.isArray(body.details) ? body.details : []);
}
