/**
 * Registry tokens as the distribution registry's `token` auth verifies them: a JWT signed ES256 (the
 * signature as JOSE's r||s), the signing certificate in the `x5c` header. The registry accepts it when
 * that certificate is in its `auth.token.rootcertbundle`, the issuer and audience are its configured
 * ones, and the time is within nbf/exp (60 s of leeway). Only the token signer's certificate goes in
 * that bundle, not the cluster CA: a node's certificate, also from the CA, must not mint tokens.
 */
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import type { AccessEntry } from './token.access';

export interface TokenSigner {
  /** PEM of the EC P-256 private key. */
  keyPem: string;
  /** PEM of its certificate. */
  certificatePem: string;
}

export interface TokenRequest {
  issuer: string;
  /** The registry's `service` name. */
  audience: string;
  subject: string;
  access: AccessEntry[];
  ttlSeconds: number;
  now?: Date;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export class RegistryTokenSigner {
  private readonly key: KeyObject;
  private readonly x5c: string;

  constructor(signer: TokenSigner) {
    this.key = createPrivateKey(signer.keyPem);
    if (this.key.asymmetricKeyType !== 'ec') throw new Error('the registry token signer needs an EC P-256 key');
    this.x5c = new X509Certificate(signer.certificatePem).raw.toString('base64');
  }

  issue(request: TokenRequest): IssuedToken {
    const now = request.now ?? new Date();
    const seconds = Math.floor(now.getTime() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [this.x5c] };
    const claims = {
      iss: request.issuer, sub: request.subject, aud: request.audience,
      exp: seconds + request.ttlSeconds, nbf: seconds - 1, iat: seconds, jti: randomBytes(16).toString('hex'), access: request.access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return { token: `${signingInput}.${base64url(signature)}`, expiresIn: request.ttlSeconds, issuedAt: now.toISOString() };
  }
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}
