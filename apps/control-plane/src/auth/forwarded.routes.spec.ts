/**
 * User certificates (`POST /api/v1/certificates/user`, what `tsctl docker-host --tcp` asks for), the
 * serving certificate of docker-serve, and a request forwarded on behalf of a certificate's holder
 * (`tide-forwarded-client-certificate`): it acts with the rights both hold, and never past its token.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { FORWARDED_CERTIFICATE_HEADER, userIdentity, type Subject } from '@tide/auth';
import {
  createCertificateAuthority, createCertificateRequest, describeCertificate, issueClientCertificate, verifyIssuedBy,
} from '@tide/pki';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

const service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 0, image: 'busybox' } };
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');

describe('user certificates and forwarded callers', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  const post = (path: string, body: unknown, token?: string) =>
    api.fetch(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...(token ? { token } : {}) });
  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;
  const whoami = async (token: string) => ((await (await api.fetch('/api/v1/whoami', { token })).json()) as { subject: Subject }).subject;

  /** What `tsctl docker-host --tcp` does: a CSR for the caller's own identity, signed by the API. */
  async function userCertificate(token: string): Promise<{ cert: string; key: string }> {
    const request = await createCertificateRequest(userIdentity((await whoami(token)) as Extract<Subject, { kind: 'user' }>));
    const answer = await post('/api/v1/certificates/user', { csr: request.csrPem }, token);
    assert.equal(answer.status, 200, await answer.clone().text());
    return { cert: ((await answer.json()) as { certificate: string }).certificate, key: request.key.toPem() };
  }
  const asCaller = (caller: { cert: string }, init: RequestInit & { token?: string } = {}) =>
    api.fetch('/api/v1/whoami', { ...init, headers: { [FORWARDED_CERTIFICATE_HEADER]: derOf(caller.cert) } });

  before(async () => (api = await startApiHarness()));
  after(async () => api?.close());

  it("signs a client certificate naming the caller as its token does, and nothing more", async () => {
    const view = await api.token('view', 'shop');
    const { cert } = await userCertificate(view);
    assert.ok(verifyIssuedBy(cert, api.caPem, { usage: 'client' }).ok);
    const info = describeCertificate(cert);
    assert.deepEqual(info.identity.organizations, ['tide:role:view', 'tide:namespace:shop']);
    // Asking for more than the token holds is refused, naming it.
    const greedy = await createCertificateRequest({ commonName: info.identity.commonName, organizations: ['tide:role:admin'] });
    const refused = await post('/api/v1/certificates/user', { csr: greedy.csrPem }, view);
    assert.equal(refused.status, 403);
    assert.match(await errorOf(refused), /asks for the groups \[tide:role:admin\] but this credential allows only \[tide:namespace:shop,tide:role:view\]/);
  });

  it('reads a user certificate as that user, presented directly', async () => {
    const client = await userCertificate(await api.token('view'));
    assert.equal((await api.fetch('/api/v1/services', { token: null, client })).status, 200);
    const write = await api.fetch('/api/v1/apply', { method: 'POST', token: null, client, body: JSON.stringify({ documents: [service] }), headers: { 'content-type': 'application/json' } });
    assert.equal(write.status, 403);
    assert.match(await errorOf(write), /role view may not \w+ services: it is read-only/);
  });

  it("acts for a forwarded caller with the rights both hold: an admin forwarding a view caller reads and cannot write", async () => {
    const viewToken = await api.token('view');
    const caller = await userCertificate(viewToken);
    const subject = (await (await asCaller(caller)).json()) as { subject: Subject; name: string };
    assert.equal(subject.subject.kind === 'user' && subject.subject.role, 'view');
    assert.match(subject.name, /^token:[0-9a-f]{12} via token:[0-9a-f]{12}$/);
    const write = await api.fetch('/api/v1/apply', {
      method: 'POST', body: JSON.stringify({ documents: [service] }), headers: { 'content-type': 'application/json', [FORWARDED_CERTIFICATE_HEADER]: derOf(caller.cert) },
    });
    assert.equal(write.status, 403);
    // A view sender forwarding an admin's certificate stays view.
    const adminCaller = await userCertificate(api.adminToken);
    const capped = (await (await asCaller(adminCaller, { token: viewToken })).json()) as { subject: Subject };
    assert.equal(capped.subject.kind === 'user' && capped.subject.role, 'view');
  });

  it('refuses a forwarded certificate of another CA, one that is not a certificate, and one whose token is revoked', async () => {
    const other = await createCertificateAuthority({ commonName: 'other' });
    const stranger = await issueClientCertificate(other, { commonName: 'token:aaaaaaaaaaaa', organizations: ['tide:role:admin'] });
    const foreign = await asCaller({ cert: stranger.certificatePem });
    assert.equal(foreign.status, 401);
    assert.match(await errorOf(foreign), new RegExp(`^${FORWARDED_CERTIFICATE_HEADER}: certificate: not issued by this CA$`));
    const garbage = await api.fetch('/api/v1/whoami', { headers: { [FORWARDED_CERTIFICATE_HEADER]: 'not base64!' } });
    assert.deepEqual([garbage.status, await errorOf(garbage)], [401, `${FORWARDED_CERTIFICATE_HEADER}: not a base64 DER certificate`]);
    const token = await api.token('edit');
    const caller = await userCertificate(token);
    assert.equal((await asCaller(caller)).status, 200);
    assert.equal((await api.fetch(`/api/v1/tokens/${token.split('_')[1]}`, { method: 'DELETE' })).status, 200);
    const revoked = await asCaller(caller);
    assert.equal(revoked.status, 401);
    assert.match(await errorOf(revoked), /the client certificate of token [0-9a-f]{12}: the token is revoked or unknown/);
  });

  it("signs docker-serve's serving certificate for the names asked, for admins only", async () => {
    const request = await createCertificateRequest({ commonName: 'tide:docker-serve', organizations: [] }, { ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
    const body = { csr: request.csrPem, names: ['127.0.0.1', 'localhost'] };
    const edit = await post('/api/v1/certificates/serving', body, await api.token('edit'));
    assert.equal(edit.status, 403);
    const signed = await post('/api/v1/certificates/serving', body);
    assert.equal(signed.status, 200);
    const info = describeCertificate(((await signed.json()) as { certificate: string }).certificate);
    assert.deepEqual([info.extendedKeyUsages, info.ipAddresses, info.dnsNames], [['serverAuth'], ['127.0.0.1'], ['localhost']]);
    const noNames = await post('/api/v1/certificates/serving', { csr: request.csrPem });
    assert.deepEqual([noNames.status, await errorOf(noNames)], [400, 'names: the DNS names and IP addresses to serve (a list of strings)']);
  });
});
