/** The rollout routes on a real etcd: revisions as the service controller records them, undo, and the history going with its Service. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service, ServiceRevision, replicaTemplate, templateHash } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { recordRevision } from '../controllers/revision.history';

describe('rollout routes', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => {
    await api?.close();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await api.fetch(path, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  };
  const service = () => api.store.get<Service>('Service', 'default', 'web').then((s) => s!);
  /** Applies `image` and records its revision, as the service controller would on its next pass. */
  const applyImage = async (image: string) => {
    const applied = await call('POST', '/api/v1/apply', { documents: [{ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' }, spec: { replicas: 2, image } }] });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const s = await service();
    return recordRevision(api.store, s, templateHash(replicaTemplate(s)));
  };

  it('lists revisions, goes back to the previous one keeping the replica count, and names a missing one', async () => {
    assert.equal(await applyImage('web:1'), 1);
    assert.equal(await applyImage('web:2'), 2);
    await call('PUT', '/api/v1/services/web/scale', { replicas: 5 });
    const listed = await call('GET', '/api/v1/services/web/revisions');
    assert.deepEqual((listed.body.items as ServiceRevision[]).map((r) => [r.metadata.name, r.spec.template.image]), [['web-1', 'web:1'], ['web-2', 'web:2']]);

    assert.deepEqual((await call('POST', '/api/v1/services/web/rollback', {})).body, { service: 'web', revision: 1, action: 'rolledBack' });
    assert.deepEqual([(await service()).spec.image, (await service()).spec.replicas], ['web:1', 5]);
    assert.equal(await recordRevision(api.store, await service(), templateHash(replicaTemplate(await service()))), 3, 'an undo is a new revision');
    assert.deepEqual((await call('POST', '/api/v1/services/web/rollback', { revision: 3 })).body, { service: 'web', revision: 3, action: 'unchanged' });

    const missing = await call('POST', '/api/v1/services/web/rollback', { revision: 1 });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'revision: revision 1 not found in the history of service "web" (revisions: 2, 3)');
    const bad = await call('POST', '/api/v1/services/web/rollback', { revision: 'two' });
    assert.deepEqual([bad.status, bad.body.error], [400, 'revision: must be a revision number ≥ 1, got "two"']);
    assert.equal((await call('GET', '/api/v1/services/nope/revisions')).status, 404);
  });

  it('deletes the history with its Service', async () => {
    assert.equal((await call('DELETE', '/api/v1/services/web')).status, 200);
    assert.deepEqual((await api.store.list<ServiceRevision>('ServiceRevision')).items, []);
  });
});
