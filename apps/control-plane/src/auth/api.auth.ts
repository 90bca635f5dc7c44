/**
 * Who is calling the API and whether they may (libs/auth decides; this reads the HTTP request):
 * a bearer token looked up by id in etcd, else a client certificate the TLS layer verified against
 * the cluster CA; either narrowed to the caller whose certificate it forwards, when it does
 * (libs/auth forwarded.ts). The route guard and the exec upgrade both come through here, and so does the audit.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  auditRecord, authenticateToken, authorize, checkHost, checkTokenCertificate, FORWARDED_CERTIFICATE_HEADER, forwardedSubject,
  identityFromTlsSubject, isMutating, parseAuthorization, subjectFromCertificate, tokenIdOfUser, unauthenticated,
  type CertificateIdentity, type Decision, type Parsed, type Refusal, type ResourceRequest, type Subject, type TokenRecord,
} from '@tide/auth';
import { verifyIssuedBy } from '@tide/pki';
import type { AuditSink } from './audit.log';

export interface TokenLookup {
  get(id: string): Promise<TokenRecord | undefined>;
}

export interface ApiAuthOptions {
  tokens: TokenLookup;
  audit: AuditSink;
  /** The names of this server (its certificate's): the only Host headers answered. */
  serverNames: () => readonly string[];
  /** The cluster CA (PEM): what a forwarded client certificate must be issued by. */
  clusterCa: () => string;
  now?: () => Date;
}

export type Admission = { ok: true; subject: Subject } | { ok: false; refusal: Refusal };

/** Sent with every 401, as RFC 6750 asks. */
export const WWW_AUTHENTICATE = 'Bearer realm="tide"';

export class ApiAuth {
  constructor(private readonly options: ApiAuthOptions) {}

  /** The request's Host against the server's names (a DNS-rebinding page sends its own name). */
  checkHost(req: IncomingMessage): Parsed<string> {
    return checkHost(req.headers.host, this.options.serverNames());
  }

  async authenticate(req: IncomingMessage): Promise<Subject | Refusal> {
    const direct = await this.authenticateDirect(req);
    const forwarded = req.headers[FORWARDED_CERTIFICATE_HEADER];
    if ('allowed' in direct || forwarded === undefined) return direct;
    const caller = await this.forwardedCaller(Array.isArray(forwarded) ? forwarded.join(',') : forwarded);
    return 'allowed' in caller ? caller : forwardedSubject(direct, caller);
  }

  /** The credential of the connection itself: a bearer token, else a client certificate. */
  private async authenticateDirect(req: IncomingMessage): Promise<Subject | Refusal> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const presented = parseAuthorization(header);
      if ('allowed' in presented) return presented;
      return authenticateToken(presented, await this.options.tokens.get(presented.id), this.now());
    }
    const socket = req.socket as Partial<TLSSocket>;
    const peer = socket.getPeerCertificate?.();
    if (peer && Object.keys(peer).length > 0) {
      // The server asks for a certificate without requiring one (tokens need none): check it here.
      if (!socket.authorized) return unauthenticated(`client certificate refused: ${String(socket.authorizationError)}`);
      return this.certificateSubject(identityFromTlsSubject(peer.subject));
    }
    return unauthenticated('no credentials: send "Authorization: Bearer <token>" or a client certificate');
  }

  /** The forwarded certificate (base64 DER) checked as the TLS layer checks a presented one: the CA, the dates, client use. */
  private async forwardedCaller(header: string): Promise<Subject | Refusal> {
    const der = header.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(der)) return unauthenticated(`${FORWARDED_CERTIFICATE_HEADER}: not a base64 DER certificate`);
    const pem = `-----BEGIN CERTIFICATE-----\n${der.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
    let verified;
    try {
      verified = verifyIssuedBy(pem, this.options.clusterCa(), { now: this.now(), usage: 'client' });
    } catch (error) {
      return unauthenticated(`${FORWARDED_CERTIFICATE_HEADER}: ${(error as Error).message}`);
    }
    if (!verified.ok) return unauthenticated(`${FORWARDED_CERTIFICATE_HEADER}: ${verified.reason}`);
    return this.certificateSubject(verified.value.identity);
  }

  /** A certificate's subject; one issued to a token holder lives only as long as the token. */
  private async certificateSubject(identity: CertificateIdentity): Promise<Subject | Refusal> {
    const subject = subjectFromCertificate(identity);
    if ('allowed' in subject || subject.kind !== 'user') return subject;
    const tokenId = tokenIdOfUser(subject.name);
    if (tokenId === undefined) return subject;
    return checkTokenCertificate(subject, await this.options.tokens.get(tokenId), this.now());
  }

  /** Authenticates, then authorizes every request; a refusal of a mutating request is audited here. */
  async admit(req: IncomingMessage, requests: readonly ResourceRequest[]): Promise<Admission> {
    const subject = await this.authenticate(req);
    if ('allowed' in subject) {
      this.audit(undefined, requests, subject, req);
      return { ok: false, refusal: subject };
    }
    for (const request of requests) {
      const decision = authorize(subject, request);
      if (!decision.allowed) {
        this.audit(subject, requests, decision, req);
        return { ok: false, refusal: decision };
      }
    }
    return { ok: true, subject };
  }

  /** The audit lines of an admitted request once its answer's status is known (mutating requests only). */
  recordOutcome(subject: Subject, requests: readonly ResourceRequest[], status: number, req: IncomingMessage): void {
    this.audit(subject, requests, { allowed: true }, req, status);
  }

  private audit(subject: Subject | undefined, requests: readonly ResourceRequest[], decision: Decision, req: IncomingMessage, status?: number): void {
    const time = this.now();
    const source = req.socket.remoteAddress;
    for (const request of requests) {
      if (!isMutating(request.verb)) continue;
      this.options.audit.write(auditRecord({ subject, request, decision, time, ...(status === undefined ? {} : { status }), ...(source ? { source } : {}) }));
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
