/**
 * ConfigMaps and Secrets through the API on a real etcd: applied with the Service that reads them,
 * a Secret's value nowhere in etcd's raw data, redacted for a view role (which may not ask to see
 * it), shown to edit and admin only when asked, re-encrypted after a key rotation; bad input names
 * the field and writes nothing.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ConfigMap, Secret, Service } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { rotateKeyFile } from '../secrets/encryption.keys';

const PASSWORD = 'hunter2-correct-horse';
const PASSWORD_B64 = Buffer.from(PASSWORD).toString('base64');
const DOCUMENTS = [
  { apiVersion: 'tide/v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'shop' }, data: { LOG_LEVEL: 'debug' } },
  { apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, stringData: { password: PASSWORD } },
  {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
    spec: { replicas: 1, image: 'busybox', env: { DB_PASSWORD: { valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } } }, envFrom: [{ configMapRef: { name: 'web' } }] },
  },
];

describe('ConfigMaps and Secrets through the API', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => {
    await api?.close();
  });

  const call = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const response = await api.fetch(path, { ...init, headers: { 'content-type': 'application/json' } });
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  };
  const apply = (documents: unknown[], token?: string) => call('/api/v1/apply', { method: 'POST', body: JSON.stringify({ documents }), ...(token ? { token } : {}) });
  const rawEtcd = async () => (await api.etcd.getAll().prefix('').buffers()) as Record<string, Buffer>;

  it('applies them with the Service that reads them; the Secret is in no etcd value in clear', async () => {
    const applied = await apply(DOCUMENTS);
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.deepEqual((applied.body.results as { kind: string; action: string }[]).map((r) => `${r.kind}:${r.action}`), ['ConfigMap:created', 'Secret:created', 'Service:created']);
    const service = await api.store.get<Service>('Service', 'shop', 'web');
    assert.match(service!.status!.configHash!, /^[0-9a-f]{16}$/, 'the digest of what its env reads');
    const raw = await rawEtcd();
    const secretKey = '/tide/v1/secrets/shop/db';
    assert.ok(raw[secretKey].toString('latin1').startsWith('tide:enc:aesgcm:v1:'), 'sealed');
    for (const [key, value] of Object.entries(raw)) {
      assert.ok(!value.includes(Buffer.from(PASSWORD)) && !value.includes(Buffer.from(PASSWORD_B64)), `${key} holds the Secret's value`);
    }
    assert.equal((await apply(DOCUMENTS)).body.results && (await apply(DOCUMENTS)).status, 200);
  });

  it('shows a view role the keys and never the values, and edit or admin the values only when asked', async () => {
    const view = await api.token('view', 'shop');
    const edit = await api.token('edit', 'shop');
    const redacted = await call('/api/v1/secrets/db?namespace=shop', { token: view });
    assert.equal(redacted.status, 200);
    assert.deepEqual((redacted.body as unknown as Secret).data, { password: '<redacted>' });
    const listed = await call('/api/v1/secrets?namespace=shop', { token: view });
    assert.ok(!JSON.stringify(listed.body).includes(PASSWORD_B64));
    const refused = await call('/api/v1/secrets/db?namespace=shop&reveal=1', { token: view });
    assert.equal(refused.status, 403);
    assert.match(refused.body.error as string, /reveal: Secret values are shown only to a role that may write Secrets/);
    assert.deepEqual((await call('/api/v1/secrets/db?namespace=shop', { token: edit })).body.data, { password: '<redacted>' });
    assert.deepEqual((await call('/api/v1/secrets/db?namespace=shop&reveal=1', { token: edit })).body.data, { password: PASSWORD_B64 });
    assert.deepEqual((await call('/api/v1/configmaps/web?namespace=shop', { token: view })).body.data, { LOG_LEVEL: 'debug' });
    assert.equal((await apply([DOCUMENTS[1]], view)).status, 403, 'a view role cannot write a Secret');
  });

  it('refuses bad input naming the field and writes nothing', async () => {
    const before = await rawEtcd();
    const bad = await apply([
      { apiVersion: 'tide/v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: 'shop' }, data: { fine: 'yes' } },
      { apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: 'not base64!' } },
    ]);
    assert.equal(bad.status, 400);
    assert.deepEqual((bad.body.details as { document: number; path: string }[]).map((d) => `${d.document}:${d.path}`), ['1:data.password']);
    assert.deepEqual(Object.keys(await rawEtcd()).sort(), Object.keys(before).sort(), 'nothing was written');
    assert.equal((await call('/api/v1/configmaps/ok?namespace=shop')).status, 404);
  });

  it('rewrites every Secret with the new key after a rotation; the old key still read it before', async () => {
    const newKey = rotateKeyFile(api.keyFile);
    const done = await call('/api/v1/secrets/reencrypt', { method: 'POST', body: '{}' });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body, { writer: newKey, rewritten: 1, current: 0 });
    const raw = await rawEtcd();
    assert.ok(raw['/tide/v1/secrets/shop/db'].toString('latin1').startsWith(`tide:enc:aesgcm:v1:${newKey}:`));
    assert.deepEqual((await call('/api/v1/secrets/db?namespace=shop&reveal=1')).body.data, { password: PASSWORD_B64 });
    assert.equal((await call('/api/v1/secrets/reencrypt', { method: 'POST', body: '{}', token: await api.token('edit') })).status, 403);
  });

  it('deletes them', async () => {
    assert.deepEqual((await call('/api/v1/configmaps/web?namespace=shop', { method: 'DELETE' })).body, { deleted: 'configmap/web' });
    assert.equal((await call('/api/v1/configmaps/web?namespace=shop', { method: 'DELETE' })).status, 404);
    assert.equal((await api.configs.store.list<ConfigMap>('ConfigMap', 'shop')).length, 0);
  });
});
