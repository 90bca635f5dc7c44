/** The HTTP API client: turns connection failures and API errors into one clear line for the user. */

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
  constructor(readonly server: string) {}

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
  async fetch(method: string, pathAndQuery: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(this.server + pathAndQuery, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (error) {
      throw connectionError(this.server, error);
    }
  }

  /** Streams a body (an archive) without holding it in memory; the raw response, as fetch() gives it. */
  async upload(pathAndQuery: string, body: NodeJS.ReadableStream, contentType = 'application/x-tar'): Promise<Response> {
    try {
      return await fetch(this.server + pathAndQuery, {
        method: 'POST', body: body as unknown as ReadableStream, headers: { 'content-type': contentType }, duplex: 'half',
      } as RequestInit);
    } catch (error) {
      throw connectionError(this.server, error);
    }
  }
}

export function connectionError(server: string, error: unknown): ApiError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? cause?.message ?? (error as Error).message;
  if (code === 'ECONNREFUSED') {
    return new ApiError(`cannot connect to the Tide API at ${server} (connection refused): is the cluster running? Start one with "tsctl up"`, 0);
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
  return new ApiError(String(message), response.status, Array.isArray(body.details) ? body.details : []);
}
