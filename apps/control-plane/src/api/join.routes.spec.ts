/** Join tokens and `POST /api/v1/join` on the real API and etcd, and `DELETE /api/v1/nodes/NAME` revoking a node's certificates. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createJoinToken } from '@tide/auth';
import { caPin, createCertificateRequest, describeCertificate, nodeIdentity } from '@tide/pki';
import { TokenStore } from '@tide/store';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

describe('joining nodes', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  const post = (path: string, body: unknown, token?: string | null) =>
    api.fetch(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...(token !== undefined ? { token } : {}) });
  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;
  const joinToken = async (body: Record<string, unknown> = {}) => {
    const response = await post('/api/v1/tokens', { kind: 'join', ...body });
    assert.equal(response.status, 201);
    return (await response.json()) as { token: string; record: { id: string; kind: string; expiresAt: string }; join: { caHash: string; grpcPort: number } };
  };
  const csrFor = async (name: string) => (await createCertificateRequest(nodeIdentity(name))).csrPem;

  before(async () => (api = await startApiHarness()));
  after(async () => api?.close());

  it('makes join tokens that expire, with what a join command names', async () => {
    const made = await joinToken({ uses: 1 });
    assert.equal(made.record.kind, 'join');
    assert.ok(Date.parse(made.record.expiresAt) - Date.now() <= 3_600_000, 'an hour by default');
    assert.deepEqual(made.join, { caHash: caPin(api.caPem), grpcPort: 7071 });
    const bad = await post('/api/v1/tokens', { kind: 'join', role: 'admin' });
    assert.deepEqual([bad.status, await errorOf(bad)], [400, 'role, namespace: a join token has neither (it only joins a node)']);
  });

  it('signs the CSR of a joining node once per use, for its own name only, and records it', async () => {
    const made = await joinToken({ uses: 1 });
    const wrongName = await post('/api/v1/join', { nodeName: 'node-a', csr: await csrFor('node-b') }, made.token);
    assert.equal(wrongName.status, 403);
    assert.match(await errorOf(wrongName), /asks for the name "system:node:node-b" but this credential allows only "system:node:node-a"/);
    const joined = await post('/api/v1/join', { nodeName: 'node-a', csr: await csrFor('node-a') }, made.token);
    assert.equal(joined.status, 200, 'the refused CSR did not use the token up');
    const answer = (await joined.json()) as { certificate: string; ca: string };
    const info = describeCertificate(answer.certificate);
    assert.equal(info.identity.commonName, 'system:node:node-a');
    assert.deepEqual(info.extendedKeyUsages, ['clientAuth']);
    assert.equal(answer.ca, api.caPem);
    await api.cache.fresh();
    assert.deepEqual(api.cache.nodeCertificateSerials('node-a'), [info.serialNumber.toLowerCase()]);
    const again = await post('/api/v1/join', { nodeName: 'node-c', csr: await csrFor('node-c') }, made.token);
    assert.equal(again.status, 403);
    assert.match(await errorOf(again), /has been used 1 time\(s\), its limit/);
  });

  it('signs a serving certificate for the node\'s own address at the join, and refuses one for another address first', async () => {
    const made = await joinToken({ uses: 1 });
    const servingFor = async (address: string) => (await createCertificateRequest(nodeIdentity('node-s'), { ipAddresses: [address] })).csrPem;
    const foreign = await post('/api/v1/join', { nodeName: 'node-s', csr: await csrFor('node-s'), servingCsr: await servingFor('198.18.0.9'), address: '198.18.0.7' }, made.token);
    assert.equal(foreign.status, 403);
    assert.match(await errorOf(foreign), /^servingCsr: asks to serve 198\.18\.0\.9, which this node does not hold/);
    const noAddress = await post('/api/v1/join', { nodeName: 'node-s', csr: await csrFor('node-s'), servingCsr: await servingFor('198.18.0.7') }, made.token);
    assert.equal(noAddress.status, 400);
    const joined = await post('/api/v1/join', { nodeName: 'node-s', csr: await csrFor('node-s'), servingCsr: await servingFor('198.18.0.7'), address: '198.18.0.7' }, made.token);
    assert.equal(joined.status, 200, 'the refused requests did not use the token up');
    const answer = (await joined.json()) as { certificate: string; servingCertificate: string };
    const serving = describeCertificate(answer.servingCertificate);
    assert.equal(serving.identity.commonName, 'system:node:node-s');
    assert.deepEqual(serving.extendedKeyUsages, ['serverAuth']);
    assert.deepEqual(serving.ipAddresses, ['198.18.0.7']);
    assert.deepEqual(describeCertificate(answer.certificate).extendedKeyUsages, ['clientAuth']);
  });

  it('refuses another join as a node that has a certificate, unless the token is bound to it', async () => {
    const unbound = await joinToken();
    const impersonation = await post('/api/v1/join', { nodeName: 'node-a', csr: await csrFor('node-a') }, unbound.token);
    assert.equal(impersonation.status, 403);
    assert.match(await errorOf(impersonation), /node node-a is already in the cluster with a certificate: "tsctl node delete node-a" first/);
    const bound = await joinToken({ node: 'node-a' });
    assert.equal((await post('/api/v1/join', { nodeName: 'node-a', csr: await csrFor('node-a') }, bound.token)).status, 200);
    const elsewhere = await post('/api/v1/join', { nodeName: 'node-d', csr: await csrFor('node-d') }, bound.token);
    assert.match(await errorOf(elsewhere), /is for node "node-a", not "node-d"/);
  });

  it('refuses an expired join token (401), a user token and no token', async () => {
    const expired = createJoinToken({ ttlMs: 1000, now: new Date(Date.now() - 60_000) });
    assert.ok(expired.ok);
    await new TokenStore(api.store.client).create(expired.value.record);
    const refused = await post('/api/v1/join', { nodeName: 'node-e', csr: await csrFor('node-e') }, expired.value.token);
    assert.equal(refused.status, 401);
    assert.match(await errorOf(refused), /^token [0-9a-f]{12} expired at /);
    const user = await post('/api/v1/join', { nodeName: 'node-e', csr: await csrFor('node-e') });
    assert.deepEqual([user.status, await errorOf(user)], [403, 'POST /api/v1/join needs a join token (tsctl token create --join)']);
    assert.equal((await post('/api/v1/join', { nodeName: 'node-e', csr: await csrFor('node-e') }, null)).status, 401);
  });

  it('revokes every certificate of a deleted node', async () => {
    const removed = await api.fetch('/api/v1/nodes/node-a', { method: 'DELETE' });
    assert.equal(removed.status, 200);
    assert.deepEqual(await removed.json(), { node: 'node-a', revoked: true, removed: false, message: 'its certificate is revoked' });
    assert.equal(api.cache.nodeCertificateSerials('node-a'), undefined);
    assert.equal((await api.fetch('/api/v1/nodes/node-zz', { method: 'DELETE' })).status, 404);
    const view = await api.fetch('/api/v1/nodes/node-b', { method: 'DELETE', token: await api.token('view') });
    assert.equal(view.status, 403);
  });
});
