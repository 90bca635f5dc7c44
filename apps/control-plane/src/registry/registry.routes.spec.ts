/**
 * The registry's token service and the registry routes on the real API (a real etcd, real tokens):
 * who gets which access in a token, the token's form as docker-registry verifies it, and the refusals.
 * The registry process itself is not started here (registry.e2e.ts runs it with skopeo).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureRegistryPki } from '@tide/pki';
import { RegistryTokenSigner } from '@tide/registry';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { ClusterRegistry, REGISTRY_ISSUER, REGISTRY_SERVICE } from './cluster.registry';

interface Claims {
  iss: string;
  aud: string;
  sub: string;
  exp: number;
  nbf: number;
  access: { type: string; name: string; actions: string[] }[];
}

describe('the registry token service and routes', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  let signerCertificate: string;

  before(async () => {
    api = await startApiHarness({
      registry: async (pki) => {
        const issued = await ensureRegistryPki({ dir: pki.layout.dir, ca: pki.ca, serverNames: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } });
        signerCertificate = fs.readFileSync(issued.layout.tokenCertificate, 'utf8');
        const signer = new RegistryTokenSigner({ keyPem: fs.readFileSync(issued.layout.tokenKey, 'utf8'), certificatePem: signerCertificate });
        return new ClusterRegistry({ address: '127.0.0.1:5999', caFile: path.join(pki.layout.dir, 'ca.crt'), embedded: true }, { signer, ca: pki.ca.certificatePem });
      },
    });
  });
  after(async () => api?.close());

  const basic = (token: string) => `Basic ${Buffer.from(`tide:${token}`).toString('base64')}`;
  const tokenFor = async (authorization: string | null, scopes: string[]) => {
    const query = new URLSearchParams([['service', REGISTRY_SERVICE], ...scopes.map((s): [string, string] => ['scope', s])]);
    return api.fetch(`/v2/token?${query}`, { token: null, headers: authorization ? { authorization } : {} });
  };
  const claimsOf = async (response: Response): Promise<{ claims: Claims; header: { alg: string; x5c: string[] }; token: string }> => {
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { token: string; access_token: string; expires_in: number };
    assert.equal(body.access_token, body.token);
    assert.equal(body.expires_in, 300);
    const [header, claims] = body.token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    return { claims, header, token: body.token };
  };
  const granted = (claims: Claims) => claims.access.map((a) => `${a.name}:${a.actions.join(',')}`);

  it('signs ES256 tokens with the signer certificate in x5c, for the registry service and issuer', async () => {
    const { claims, header, token } = await claimsOf(await tokenFor(basic(api.adminToken), ['repository:shop/web:pull,push']));
    assert.equal(header.alg, 'ES256');
    assert.equal(new X509Certificate(Buffer.from(header.x5c[0], 'base64')).raw.equals(new X509Certificate(signerCertificate).raw), true);
    const [h, c, signature] = token.split('.');
    assert.ok(verify('sha256', Buffer.from(`${h}.${c}`), { key: new X509Certificate(signerCertificate).publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')));
    assert.deepEqual([claims.iss, claims.aud], [REGISTRY_ISSUER, REGISTRY_SERVICE]);
    assert.ok(claims.exp - claims.nbf <= 301);
    assert.deepEqual(granted(claims), ['shop/web:pull,push']);
  });

  it('grants view pull, edit push in its namespace only, admin the catalog; Bearer works as Basic does', async () => {
    const scopes = ['repository:shop/web:pull,push', 'repository:other/x:pull,push', 'registry:catalog:*'];
    assert.deepEqual(granted((await claimsOf(await tokenFor(basic(await api.token('view')), scopes))).claims), ['shop/web:pull', 'other/x:pull']);
    assert.deepEqual(granted((await claimsOf(await tokenFor(basic(await api.token('edit', 'shop')), scopes))).claims), ['shop/web:pull,push', 'other/x:pull']);
    assert.deepEqual(granted((await claimsOf(await tokenFor(`Bearer ${api.adminToken}`, scopes))).claims), ['shop/web:pull,push', 'other/x:pull,push', 'catalog:*']);
  });

  it('answers 401 with a Basic challenge without a credential or with a bad one, and 400 for another service', async () => {
    for (const authorization of [null, basic('tide_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'Basic !!!']) {
      const response = await tokenFor(authorization, ['repository:shop/web:pull']);
      assert.equal(response.status, 401, String(authorization));
      assert.equal(response.headers.get('www-authenticate'), `Basic realm="${REGISTRY_SERVICE}"`);
    }
    const other = await api.fetch('/v2/token?service=elsewhere', { token: null, headers: { authorization: basic(api.adminToken) } });
    assert.equal(other.status, 400);
  });

  it('tells where the registry is (view and up), and refuses a push the caller may not make before any node is asked', async () => {
    const view = await api.token('view');
    const info = (await (await api.fetch('/api/v1/registry', { token: view })).json()) as { address: string; caFile: string; ca: string; embedded: boolean };
    assert.deepEqual([info.address, info.embedded, info.ca], ['127.0.0.1:5999', true, api.caPem]);
    const push = (token: string, ref: string) => api.fetch('/api/v1/images/push', {
      method: 'POST', token, body: JSON.stringify({ ref }), headers: { 'content-type': 'application/json' },
    });
    const refused = await push(await api.token('edit', 'other'), 'shop/web:1');
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { error: string }).error, /role edit in namespace other\) may not push shop\/web/);
    const elsewhere = await push(api.adminToken, 'reg.example:5000/web:1');
    assert.equal(elsewhere.status, 400);
    const pull = await api.fetch('/api/v1/images/pull', { method: 'POST', token: view, body: JSON.stringify({ ref: 'web:1' }), headers: { 'content-type': 'application/json' } });
    assert.equal(pull.status, 403, 'pulling onto the nodes is an image write (admin)');
  });
});
