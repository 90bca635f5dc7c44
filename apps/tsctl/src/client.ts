/** The HTTP API client: turns connection and API errors into one clear line for the user. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly details: { document: number; path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export function configPath(): string {
  return path.join(os.homedir(), '.tide', 'config.json');
}

export function defaultServer(): string {
  try {
    const config = JSON.parse(fs.readFileSync(configPath(), 'utf8')) as { server?: string };
    if (config.server) return config.server;
  } catch {
    /* no config yet */
  }
  return 'http://127.0.0.1:7070';
}

export class ApiClient {
  constructor(readonly server: string) {}

  async request<T>(method: string, pathAndQuery: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, pathAndQuery, body);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const error = parsed as { error?: string; message?: string; details?: ApiError['details'] } | undefined;
      throw new ApiError(error?.error ?? error?.message ?? `${response.status} ${response.statusText}`, response.status, error?.details ?? []);
    }
    return parsed as T;
  }

  async fetch(method: string, pathAndQuery: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(this.server + pathAndQuery, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new ApiError(`cannot reach the Tide API at ${this.server} (${cause}): is the cluster running? Start one with "tsctl up"`, 0);
    }
  }
}
