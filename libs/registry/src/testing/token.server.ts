/**
 * A token service for tests of the real registry: Basic auth with a user name that is a role
 * (`admin`, `edit@shop`, `view`), tokens signed by the signer the registry trusts. The control plane's
 * endpoint does the same with real Tide credentials.
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Subject } from '@tide/auth';
import { grantAccess, parseScopes } from '../token.access';
import { RegistryTokenSigner } from '../token.signer';

export interface TestTokenServer {
  realm: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startTestTokenServer(tls: { cert: string; key: string }, signer: RegistryTokenSigner, service: string, issuer: string): Promise<TestTokenServer> {
  const requests: string[] = [];
  const server = https.createServer(tls, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    requests.push(url.search);
    const subject = subjectOf(req.headers.authorization);
    if (!subject) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad user' }] }));
      return;
    }
    const access = grantAccess(subject, parseScopes(url.searchParams.getAll('scope')));
    const issued = signer.issue({ issuer, audience: url.searchParams.get('service') ?? service, subject: 'test', access, ttlSeconds: 300 });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: issued.token, expires_in: issued.expiresIn }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { realm: `https://127.0.0.1:${port}/token`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function subjectOf(header: string | undefined): Subject | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const [user, password] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  if (password !== 'secret') return undefined;
  const [role, namespace] = user.split('@');
  if (role !== 'admin' && role !== 'edit' && role !== 'view') return undefined;
  return { kind: 'user', name: user, role, ...(namespace ? { namespace } : {}) };
}
