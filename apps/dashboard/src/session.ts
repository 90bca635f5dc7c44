/**
 * Who is signed in, and calls to the API as them. The token lives in this page's memory only: it
 * goes in an Authorization header, never in a URL, a cookie or storage, so a reload asks for it
 * again. A browser with a client certificate the cluster CA signed is signed in without a token.
 */
export interface Identity {
  /** `token:abc…` or a certificate's name. */
  name: string;
  role?: string;
  /** The one namespace an edit or view token is limited to. */
  namespace?: string;
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class Session {
  constructor(private readonly token: string | undefined, readonly identity: Identity) {}

  /** Asks the API who the token (or, without one, the browser's certificate) stands for. */
  static async signIn(token: string | undefined): Promise<Session> {
    const body = await call<{ name: string; subject: { role?: string; namespace?: string } }>(token, 'GET', '/api/v1/whoami');
    return new Session(token, { name: body.name, role: body.subject.role, namespace: body.subject.namespace });
  }

  /** The namespace the dashboard watches: the token's own, else all. */
  get watchedNamespace(): string {
    return this.identity.namespace ?? 'all';
  }

  headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /**
   * `idempotent`: the call may be sent again when it failed before any answer (the browser drops
   * requests when the machine's network changes); a GET always may, and so may a scale to N, a
   * cordon, a drain; a rollout undo (one revision further back each time) may not.
   */
  request<T>(method: string, path: string, body?: unknown, options: { idempotent?: boolean } = {}): Promise<T> {
    return call<T>(this.token, method, path, body, method === 'GET' || options.idempotent ? NETWORK_RETRIES : 0);
  }
}

/** Sends after a network failure (no answer at all) of a call that may be repeated. */
const NETWORK_RETRIES = 2;
const NETWORK_RETRY_PAUSE_MS = 500;

async function call<T>(token: string | undefined, method: string, path: string, body?: unknown, retries = NETWORK_RETRIES): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const send = () => fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), credentials: 'omit' });
  let response: Response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await send();
      break;
    } catch (error) {
      // fetch rejects with a TypeError only when no answer came (an HTTP error status resolves).
      if (!(error instanceof TypeError) || attempt >= retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, NETWORK_RETRY_PAUSE_MS));
    }
  }
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (parsed as { error?: string } | undefined)?.error ?? response.statusText;
    throw new ApiError(response.status, error);
  }
  return parsed as T;
}
