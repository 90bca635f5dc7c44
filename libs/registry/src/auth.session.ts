/**
 * Authentication towards one registry, as docker and skopeo do it: try the request; on a 401 read the
 * challenge; for `Basic` send the credentials; for `Bearer` ask the challenge's realm for a token
 * scoped to the repository and actions (with the credentials as Basic auth, or anonymously), cache it
 * per scope until it expires, and try once more. A registry token given directly is sent as is.
 */
import type { Readable } from 'node:stream';
import { parseChallenge } from './challenge';
import { RegistryError, registryErrorText } from './errors';
import { readBody, type HttpRequest, type Transport } from './http';

export type RegistryCredentials =
  /** A user and password (or a Tide token as the password), for Basic auth or the token service. */
  | { username: string; password: string }
  /** A registry token already issued (what the control plane hands an agent). */
  | { registryToken: string };

export interface Scope {
  repository: string;
  actions: ('pull' | 'push')[];
}

/** A request sent with the credentials for `scope` (RegistryClient.send). */
export interface SendOptions extends Omit<HttpRequest, 'url' | 'body'> {
  path: string;
  scope?: Scope;
  /** A body the request can be sent again with (after a 401): a Buffer, or a function making a fresh stream. */
  body?: Buffer | (() => Readable);
}

export function scopeString(scope: Scope): string {
  return `repository:${scope.repository}:${[...scope.actions].sort().join(',')}`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

const MAX_TOKEN_ANSWER = 64 * 1024;
/** Tokens are refreshed this long before they expire (a request in flight must not carry a dead one). */
const EXPIRY_MARGIN_MS = 10_000;

export class AuthSession {
  private readonly tokens = new Map<string, CachedToken>();
  private basic = false;

  constructor(
    private readonly transport: Transport,
    private readonly registry: string,
    private readonly credentials: RegistryCredentials | undefined,
    private readonly idleMs: number,
  ) {}

  /** The Authorization header to send for `scope` now, if any is known. */
  header(scope: Scope | undefined): string | undefined {
    if (this.credentials && 'registryToken' in this.credentials) return `Bearer ${this.credentials.registryToken}`;
    if (this.basic) return this.basicHeader();
    const cached = scope ? this.tokens.get(scopeString(scope)) : this.tokens.get('');
    return cached && cached.expiresAt > Date.now() ? cached.header : undefined;
  }

  /** After a 401: works out from the challenge how to authenticate; false when nothing more can be tried. */
  async answer(challengeHeader: string | undefined, scope: Scope | undefined, what: string): Promise<void> {
    if (this.credentials && 'registryToken' in this.credentials) {
      throw new RegistryError('Unauthorized', `${what}: ${this.registry} refused the registry token (expired, or not for this registry)`, 401);
    }
    const challenge = parseChallenge(challengeHeader);
    if (challenge?.scheme === 'basic') {
      if (!this.credentials) throw new RegistryError('Unauthorized', `${what}: ${this.registry} wants a user and password; log in first`, 401);
      if (this.basic) throw new RegistryError('Unauthorized', `${what}: ${this.registry} refused the user "${this.credentials.username}"`, 401);
      this.basic = true;
      return;
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw new RegistryError('Unauthorized', `${what}: ${this.registry} answered 401 without a challenge this client understands (${challengeHeader ?? 'none'})`, 401);
    }
    const key = scope ? scopeString(scope) : '';
    const token = await this.fetchToken(challenge.params.realm, challenge.params.service, scope, what);
    this.tokens.set(key, token);
  }

  /** Forgets a token the registry has just refused, so the next answer() fetches a fresh one. */
  forget(scope: Scope | undefined): void {
    this.tokens.delete(scope ? scopeString(scope) : '');
  }

  private async fetchToken(realm: string, service: string | undefined, scope: Scope | undefined, what: string): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('Invalid', `${what}: ${this.registry} named a token service that is not a URL: "${realm}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RegistryError('Invalid', `${what}: token service ${realm} is not http(s)`);
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scopeString(scope));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials) headers.authorization = this.basicHeader();
    const response = await this.transport.send({ method: 'GET', url: url.toString(), headers, deadlineMs: this.idleMs, what: `${what} (token from ${url.host})` });
    const body = await readBody(response, MAX_TOKEN_ANSWER, `${what}: the token answer`, url.toString(), this.idleMs);
    if (response.statusCode === 401 || response.statusCode === 403) {
      const who = this.credentials && 'username' in this.credentials ? `the credentials of "${this.credentials.username}"` : 'anonymous access (log in first)';
      throw new RegistryError(response.statusCode === 401 ? 'Unauthorized' : 'Denied',
        `${what}: the token service ${url.host} refused ${who}${detail(body)}`, response.statusCode);
    }
    if (response.statusCode !== 200) throw new RegistryError('Failed', `${what}: the token service ${url.host} answered ${response.statusCode}${detail(body)}`, response.statusCode);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new RegistryError('Invalid', `${what}: the token service ${url.host} did not answer JSON`);
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') throw new RegistryError('Invalid', `${what}: the token service ${url.host} answered without a token`);
    // The spec's default lifetime is 60 s when the answer does not say.
    const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + seconds * 1000 - EXPIRY_MARGIN_MS };
  }

  private basicHeader(): string {
    const c = this.credentials as { username: string; password: string };
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  }
}

function detail(body: Buffer): string {
  const text = registryErrorText(body.toString('utf8')) ?? body.toString('utf8').slice(0, 200).trim();
  return text ? `: ${text}` : '';
}
