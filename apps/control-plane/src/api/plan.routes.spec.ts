/**
 * Plan before apply, on a real etcd: `POST /api/v1/diff` and apply's `dryRun` say what an apply
 * would do and write nothing; each is admitted as its real counterpart (a view token may diff, not
 * apply nor dry-run); `POST .../restart` rolls the template and a later apply keeps it;
 * `GET /api/v1/version`.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service, TIDE_VERSION, replicaTemplate, templateHash } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

const web = (spec: Record<string, unknown> = {}, labels: Record<string, string> = { app: 'web' }) =>
  ({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', labels }, spec: { replicas: 2, image: 'web:1', ...spec } });

describe('plan routes: diff, dry run, restart, version', () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => {
    await api?.close();
  });

  const post = async (path: string, body: unknown, token?: string) => {
    const response = await api.fetch(path, { method: 'POST', ...(token ? { token } : {}), body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: response.status, body: await response.json() as Record<string, unknown> & { results?: { name: string; action: string; diff?: string }[] } };
  };
  const stored = async (name = 'web') => api.store.get<Service>('Service', 'default', name);

  it('diffs: created with the whole object, unchanged after the apply, changed with the one field', async () => {
    const before = await post('/api/v1/diff', { documents: [web()] });
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.equal(before.body.changed, true);
    assert.equal(before.body.results![0].action, 'created');
    assert.match(before.body.results![0].diff!, /^--- \/dev\/null\n\+\+\+ service default\/web \(applied\)\n@@ -0,0 \+1,\d+ @@\n/);
    assert.equal(await stored(), undefined, 'a diff writes nothing');

    assert.equal((await post('/api/v1/apply', { documents: [web()] })).status, 200);
    assert.deepEqual((await post('/api/v1/diff', { documents: [web()] })).body, {
      results: [{ kind: 'Service', namespace: 'default', name: 'web', action: 'unchanged' }], changed: false,
    });
    const edited = await post('/api/v1/diff', { documents: [web({ image: 'web:2' })] });
    assert.equal(edited.body.changed, true);
    assert.equal(edited.body.results![0].action, 'changed');
    assert.deepEqual(edited.body.results![0].diff!.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-  image: web:1', '+  image: web:2']);
    assert.equal((await stored())!.spec.image, 'web:1');
  });

  it('keeps an autoscaled count as apply does: no difference while the autoscaler has scaled out', async () => {
    const scaled = { autoscale: { minReplicas: 1, maxReplicas: 8, targetCPUUtilizationPercentage: 60 }, resources: { requests: { cpu: '100m' } } };
    const doc = { ...web(scaled), metadata: { name: 'scaled' } };
    assert.equal((await post('/api/v1/apply', { documents: [doc] })).status, 200);
    const current = (await stored('scaled'))!;
    await api.store.update({ ...current, spec: { ...current.spec, replicas: 6 } }, current);
    assert.equal((await post('/api/v1/diff', { documents: [doc] })).body.changed, false);
  });

  it('dry-runs an apply: answers what it would do, writes nothing', async () => {
    const version = (await stored())!.metadata.resourceVersion;
    const answer = await post('/api/v1/apply', { documents: [web({ image: 'web:3' }), { ...web(), metadata: { name: 'other' } }], dryRun: true });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.dryRun, true);
    assert.deepEqual(answer.body.results!.map((r) => [r.name, r.action]), [['web', 'configured'], ['other', 'created']]);
    assert.equal((await stored())!.metadata.resourceVersion, version);
    assert.equal(await stored('other'), undefined);
    assert.equal((await post('/api/v1/apply', { documents: [web()], dryRun: 'yes' })).status, 400);
  });

  it('refuses bad input naming the document and field, for diff and dry run alike, writing nothing', async () => {
    for (const [path, extra] of [['/api/v1/diff', {}], ['/api/v1/apply', { dryRun: true }]] as const) {
      const answer = await post(path, { documents: [web(), { ...web({ replicas: -1 }), metadata: { name: 'bad' } }], ...extra });
      assert.equal(answer.status, 400, path);
      assert.deepEqual(answer.body.details, [{ document: 1, path: 'spec.replicas', message: 'must be an integer between 0 and 10000, got number -1' }], path);
    }
    assert.equal(await stored('bad'), undefined);
  });

  it('lets a view token diff but neither apply nor dry-run; an edit token may not dry-run an admin-only field', async () => {
    const view = await api.token('view', 'default');
    assert.equal((await post('/api/v1/diff', { documents: [web({ image: 'web:9' })] }, view)).status, 200);
    assert.equal((await post('/api/v1/apply', { documents: [web({ image: 'web:9' })], dryRun: true }, view)).status, 403);
    assert.equal((await post('/api/v1/apply', { documents: [web({ image: 'web:9' })] }, view)).status, 403);
    const elsewhere = await post('/api/v1/diff', { documents: [{ ...web(), metadata: { name: 'web', namespace: 'shop' } }] }, view);
    assert.equal(elsewhere.status, 403, 'a namespaced view token reads its own namespace only');
    const edit = await api.token('edit', 'default');
    const hostNetwork = await post('/api/v1/apply', { documents: [web({ network: 'host' })], dryRun: true }, edit);
    assert.equal(hostNetwork.status, 403);
    assert.match(String(hostNetwork.body.error), /spec\.network/);
    assert.equal((await stored())!.spec.network, 'bridge');
  });

  it('restarts: a new template (tide/restartedAt), and a later apply of the manifest keeps it', async () => {
    const before = (await stored())!;
    const answer = await post('/api/v1/services/web/restart', {});
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const after = (await stored())!;
    assert.equal(after.spec.annotations?.['tide/restartedAt'], answer.body.restartedAt);
    assert.notEqual(templateHash(replicaTemplate(after)), templateHash(replicaTemplate(before)));
    assert.deepEqual((await post('/api/v1/apply', { documents: [web()] })).body.results!.map((r) => r.action), ['unchanged']);
    assert.equal((await post('/api/v1/diff', { documents: [web()] })).body.changed, false);
    assert.equal((await post('/api/v1/services/web/restart', {}, await api.token('view', 'default'))).status, 403);
    assert.equal((await post('/api/v1/services/nope/restart', {})).status, 404);
  });

  it('answers its version to any caller with credentials, and to no one without', async () => {
    assert.deepEqual(await (await api.fetch('/api/v1/version', { token: await api.token('view', 'default') })).json(), { version: TIDE_VERSION });
    assert.equal((await api.fetch('/api/v1/version', { token: null })).status, 401);
  });
});
