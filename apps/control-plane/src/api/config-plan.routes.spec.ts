/**
 * Plan before apply for ConfigMaps and Secrets, on a real etcd: `POST /api/v1/diff` and apply's
 * `dryRun` answer created / unchanged / changed with the changed paths named, write nothing, and
 * never carry a Secret's value, whatever the caller's role; a view token may diff them, only the
 * apply's rights may dry-run them.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { ConfigMap, Secret } from '@tide/api';
import { ApiHarness, startApiHarness } from '../testing/api.harness';

const OLD_PASSWORD = 'old-horse-battery-staple';
const NEW_PASSWORD = 'new-correct-horse-staple';
const configMap = (data: Record<string, string>) => ({ apiVersion: 'tide/v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'shop' }, data });
const secret = (stringData: Record<string, string>, labels?: Record<string, string>) =>
  ({ apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop', ...(labels ? { labels } : {}) }, stringData });

type Planned = { kind: string; name: string; action: string; diff?: string; changedPaths?: string[] };

/** The forms a Secret's value could take in an answer: as written, and base64. */
function secretForms(value: string): string[] {
  return [value, Buffer.from(value).toString('base64')];
}

describe('plan routes for ConfigMaps and Secrets', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => {
    await api?.close();
  });

  /** `route` diff, apply, or apply with dryRun; the answer's text too, to search for Secret values. */
  const send = async (route: 'diff' | 'apply' | 'dry-run', documents: unknown[], token?: string) => {
    const body = JSON.stringify({ documents, ...(route === 'dry-run' ? { dryRun: true } : {}) });
    const response = await api.fetch(`/api/v1/${route === 'diff' ? 'diff' : 'apply'}`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, ...(token ? { token } : {}) });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as { results?: Planned[]; changed?: boolean; dryRun?: boolean; details?: { document: number; path: string }[] } };
  };
  const changedLines = (diff: string | undefined) => (diff ?? '').split('\n').filter((line) => /^[-+][^-+]/.test(line));
  const assertNoSecret = (text: string, ...values: string[]) => {
    for (const value of values) for (const form of secretForms(value)) assert.ok(!text.includes(form), `the answer holds a Secret value: ${text}`);
  };

  it('diffs what does not exist yet as created, keys shown and the Secret\'s values redacted', async () => {
    const answer = await send('diff', [configMap({ LOG_LEVEL: 'debug' }), secret({ password: OLD_PASSWORD })]);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.changed, true);
    const [map, sealed] = answer.body.results!;
    assert.deepEqual([map.kind, map.action, sealed.kind, sealed.action], ['ConfigMap', 'created', 'Secret', 'created']);
    assert.match(map.diff!, /^--- \/dev\/null\n\+\+\+ configmap shop\/web \(applied\)\n/);
    assert.ok(changedLines(map.diff).includes('+  LOG_LEVEL: debug'), map.diff);
    assert.ok(changedLines(sealed.diff).includes('+  password: (redacted)'), sealed.diff);
    assertNoSecret(answer.text, OLD_PASSWORD);
    assert.equal(await api.configs.store.get<ConfigMap>('ConfigMap', 'shop', 'web'), undefined, 'a diff writes nothing');
    assert.equal(await api.configs.store.get<Secret>('Secret', 'shop', 'db'), undefined, 'a diff writes nothing');
  });

  it('says unchanged after the apply, and names the changed keys after an edit, a Secret\'s as (changed, redacted)', async () => {
    const documents = [configMap({ LOG_LEVEL: 'debug', MODE: 'shop' }), secret({ password: OLD_PASSWORD, user: 'shop' })];
    assert.equal((await send('apply', documents)).status, 200);
    assert.deepEqual(await send('diff', documents).then((a) => a.body), {
      changed: false,
      results: [
        { kind: 'ConfigMap', namespace: 'shop', name: 'web', action: 'unchanged' },
        { kind: 'Secret', namespace: 'shop', name: 'db', action: 'unchanged' },
      ],
    });
    const edited = await send('diff', [configMap({ LOG_LEVEL: 'info', MODE: 'shop' }), secret({ password: NEW_PASSWORD, user: 'shop', token: 'abc-def-ghi' }, { tier: 'db' })]);
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.body.changed, true);
    const [map, sealed] = edited.body.results!;
    assert.deepEqual([map.action, map.changedPaths], ['changed', ['data.LOG_LEVEL']]);
    assert.deepEqual(changedLines(map.diff), ['-  LOG_LEVEL: debug', '+  LOG_LEVEL: info']);
    assert.deepEqual([sealed.action, sealed.changedPaths], ['changed', ['metadata.labels', 'data.password', 'data.token']]);
    assert.deepEqual(changedLines(sealed.diff), ['-  password: (redacted)', '+  password: (changed, redacted)', '+  token: (redacted)', '+  labels:', '+    tier: db']);
    assertNoSecret(edited.text, OLD_PASSWORD, NEW_PASSWORD, 'abc-def-ghi');
    const stored = await api.configs.store.get<Secret>('Secret', 'shop', 'db');
    assert.equal(Buffer.from(stored!.data!.password, 'base64').toString(), OLD_PASSWORD, 'a diff writes nothing');
  });

  it('dry-runs them as the apply would, writing nothing and answering no Secret value', async () => {
    const version = (await api.configs.store.get<Secret>('Secret', 'shop', 'db'))!.metadata.resourceVersion;
    const answer = await send('dry-run', [configMap({ LOG_LEVEL: 'debug', MODE: 'shop' }), secret({ password: NEW_PASSWORD, user: 'shop' })]);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.dryRun, true);
    assert.deepEqual(answer.body.results!.map((r) => [r.kind, r.action, r.changedPaths]), [['ConfigMap', 'unchanged', undefined], ['Secret', 'configured', ['data.password']]]);
    assertNoSecret(answer.text, OLD_PASSWORD, NEW_PASSWORD);
    assert.equal((await api.configs.store.get<Secret>('Secret', 'shop', 'db'))!.metadata.resourceVersion, version, 'a dry run writes nothing');
  });

  it('lets a view token diff a Secret, redacted as for anyone, and refuses it the dry run', async () => {
    const view = await api.token('view', 'shop');
    const documents = [secret({ password: NEW_PASSWORD, user: 'shop' })];
    const diff = await send('diff', documents, view);
    assert.equal(diff.status, 200, diff.text);
    assert.deepEqual(diff.body.results!.map((r) => r.changedPaths), [['data.password']]);
    assertNoSecret(diff.text, OLD_PASSWORD, NEW_PASSWORD);
    assert.equal((await send('dry-run', documents, view)).status, 403);
    assert.equal((await send('diff', [{ ...documents[0], metadata: { name: 'db', namespace: 'other' } }], view)).status, 403);
    const edit = await api.token('edit', 'shop');
    assert.equal((await send('dry-run', documents, edit)).status, 200);
  });

  it('refuses a bad ConfigMap or Secret naming the document and field, for diff and dry run alike', async () => {
    for (const route of ['diff', 'dry-run'] as const) {
      const answer = await send(route, [configMap({ ok: 'yes' }), { ...secret({}), stringData: undefined, data: { password: 'not base64!' } }]);
      assert.equal(answer.status, 400, route);
      assert.deepEqual(answer.body.details!.map((d) => `${d.document}:${d.path}`), ['1:data.password'], route);
    }
  });
});
