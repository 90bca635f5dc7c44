/** The rollout routes on a real etcd: revisions as the service controller records them, undo, and the history going with its Service. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Service, ServiceRevision, replicaTemplate, templateHash } from '@tide/api';
import type { AuditRecord } from '@tide/auth';
import { waitFor } from '@tide/api/testing';
import { StoreUnavailableError } from '@tide/store';
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

  it('refuses an edit token the undo to a revision with an admin-only field (403 naming it), and changes nothing', async () => {
    const edit = await api.token('edit', 'default');
    const applyAs = async (token: string, spec: Record<string, unknown>) => {
      const response = await api.fetch('/api/v1/apply', {
        method: 'POST', token, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ documents: [{ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'guarded' }, spec: { replicas: 1, image: 'web:1', ...spec } }] }),
      });
      assert.equal(response.status, 200, await response.text());
      const s = (await api.store.get<Service>('Service', 'default', 'guarded'))!;
      return recordRevision(api.store, s, templateHash(replicaTemplate(s)));
    };
    // An admin once ran it Unconfined (revision 1); an edit user moved it to a confined template (2).
    assert.equal(await applyAs(api.adminToken, { securityContext: { seccompProfile: { type: 'Unconfined' } } }), 1);
    assert.equal(await applyAs(edit, { image: 'web:2' }), 2);
    const before = (await api.store.get<Service>('Service', 'default', 'guarded'))!;
    const refused = await api.fetch('/api/v1/services/guarded/rollback', {
      method: 'POST', token: edit, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ revision: 1 }),
    });
    const answer = await refused.json() as { error: string };
    assert.equal(refused.status, 403);
    assert.equal(answer.error, 'rollback to revision 1: spec.securityContext.seccompProfile.type: Unconfined: needs the admin role');
    const after = (await api.store.get<Service>('Service', 'default', 'guarded'))!;
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing was written');
    assert.equal(after.spec.securityContext, undefined);
    await waitFor(() => fs.readFileSync(api.auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord)
      .some((r) => r.resource === 'services/rollback' && r.name === 'guarded' && r.status === 403), { what: 'the refusal in the audit log', timeoutMs: 5000 });
    // An admin may, and the default undo (the previous template) is refused to edit the same way.
    const defaultUndo = await api.fetch('/api/v1/services/guarded/rollback', { method: 'POST', token: edit, headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(defaultUndo.status, 403);
    const admin = await call('POST', '/api/v1/services/guarded/rollback', { revision: 1 });
    assert.deepEqual(admin.body, { service: 'guarded', revision: 1, action: 'rolledBack' });
    assert.equal((await api.store.get<Service>('Service', 'default', 'guarded'))!.spec.securityContext?.seccompProfile?.type, 'Unconfined');
    assert.equal((await call('DELETE', '/api/v1/services/guarded')).status, 200);
  });

  it('deletes the history with its Service, in one transaction: a 503 leaves both as they were', async () => {
    // Another Service whose name starts with "web-": its history is its own.
    await call('POST', '/api/v1/apply', { documents: [{ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web-canary' }, spec: { replicas: 1, image: 'busybox' } }] });
    const canary = await api.store.get<Service>('Service', 'default', 'web-canary');
    await recordRevision(api.store, canary!, templateHash(replicaTemplate(canary!)));
    const names = async () => (await api.store.list<ServiceRevision>('ServiceRevision')).items.map((r) => r.metadata.name).sort();
    const before = await names();
    assert.ok(before.includes('web-canary-1') && before.some((n) => /^web-\d+$/.test(n)), before.join(', '));

    // etcd unavailable while the history is read: nothing is deleted, and the 503 says so truly.
    const list = api.store.list.bind(api.store);
    api.store.list = (async (kind: string, ...rest: unknown[]) => {
      if (kind === 'ServiceRevision') throw new StoreUnavailableError('etcd unavailable: test; nothing was sent', 'not-applied');
      return (list as (...a: unknown[]) => unknown)(kind, ...rest);
    }) as typeof api.store.list;
    try {
      const refused = await call('DELETE', '/api/v1/services/web');
      assert.equal(refused.status, 503);
      assert.match(String(refused.body.error), /nothing was written/);
    } finally {
      api.store.list = list;
    }
    assert.ok(await api.store.get('Service', 'default', 'web'), 'the Service is still there');
    assert.deepEqual(await names(), before);

    assert.equal((await call('DELETE', '/api/v1/services/web')).status, 200);
    assert.deepEqual(await names(), ['web-canary-1']);
    assert.equal((await call('DELETE', '/api/v1/services/web')).status, 404);
  });
});
