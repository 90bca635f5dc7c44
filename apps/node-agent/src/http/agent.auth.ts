/**
 * Who is calling the agent and whether it may (libs/auth decides): a client certificate the TLS
 * layer verified against the cluster CA, else a bearer token, which only the control plane can check
 * (token.review.ts asks it). Exec, logs, images and warm are the control plane's alone (it proxies users
 * after checking their role); metrics take any user's token or an administrator's certificate too.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  authorizeAgentEndpoint, identityFromTlsSubject, parseAuthorization, subjectFromCertificate, unauthenticated,
  type AgentEndpoint, type Refusal, type Subject,
} from '@tide/auth';

/** Checks an `Authorization` header (already well-formed) with the control plane. */
export type TokenReviewer = (authorization: string) => Promise<Subject | Refusal>;

export type AgentAdmission = { ok: true; subject?: Subject } | { ok: false; refusal: Refusal };

/** Sent with every 401, as RFC 6750 asks (the same realm as the API's). */
export const WWW_AUTHENTICATE = 'Bearer realm="tide"';

const LOGS_PATH = /^\/v1\/logs\//;

/** Which endpoint a path is, for authorization; undefined for a path the agent does not serve. */
export function endpointOf(pathname: string): AgentEndpoint | undefined {
  if (pathname === '/healthz') return 'healthz';
  if (pathname === '/metrics') return 'metrics';
  if (LOGS_PATH.test(pathname)) return 'logs';
  if (pathname === '/v1/images' || pathname.startsWith('/v1/images/')) return 'images';
  // Copying files in or out of a replica, attaching to its process or signalling it is exec's right:
  // each can read and change anything in it.
  if (['/v1/exec/', '/v1/archive/', '/v1/attach/', '/v1/signal/'].some((prefix) => pathname.startsWith(prefix))) return 'exec';
  if (pathname === '/v1/warm') return 'warm';
  if (pathname.startsWith('/v1/local-volumes/')) return 'volumes';
  if (pathname === '/v2/' || pathname.startsWith('/v2/')) return 'blobs';
  return undefined;
}

export class AgentAuth {
  /** `reviewToken` absent: the agent has no control plane to ask (`--api-server`), so tokens are refused. */
  constructor(private readonly reviewToken?: TokenReviewer) {}

  async authenticate(req: IncomingMessage): Promise<Subject | Refusal> {
    const socket = req.socket as Partial<TLSSocket>;
    const peer = socket.getPeerCertificate?.();
    if (peer && Object.keys(peer).length > 0) {
      if (!socket.authorized) return unauthenticated(`client certificate refused: ${String(socket.authorizationError)}`);
      return subjectFromCertificate(identityFromTlsSubject(peer.subject));
    }
    const header = req.headers.authorization;
    if (header === undefined) return unauthenticated('no credentials: send a client certificate of the cluster CA or "Authorization: Bearer <token>"');
    const presented = parseAuthorization(header);
    if ('allowed' in presented) return presented; // malformed: refused here, the control plane is not asked
    if (!this.reviewToken) return unauthenticated('this agent has no control plane to check tokens with: use a client certificate of the cluster CA');
    return this.reviewToken(header);
  }

  /** Authenticates (not for /healthz) and authorizes; a path the agent does not serve needs a known caller before it gets its 404. */
  async admit(req: IncomingMessage, endpoint: AgentEndpoint | undefined): Promise<AgentAdmission> {
    if (endpoint === 'healthz') return { ok: true };
    const subject = await this.authenticate(req);
    if ('allowed' in subject) return { ok: false, refusal: subject };
    if (endpoint === undefined) return { ok: true, subject };
    const decision = authorizeAgentEndpoint(subject, endpoint);
    return decision.allowed ? { ok: true, subject } : { ok: false, refusal: decision };
  }
}
