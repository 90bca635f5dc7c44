import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseChallenge } from './challenge';
import { RegistryError } from './errors';
import { parseManifest, selectPlatform, MEDIA_TYPES, type Platform } from './manifest';
import { formatImageReference, manifestReference, parseImageReference } from './reference';
import { grantAccess, parseScopes } from './token.access';
import { pullPlan, pushPlan } from './cluster.names';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  const cases: [string, ReturnType<typeof parseImageReference>][] = [
    ['web', { repository: 'web' }],
    ['web:1', { repository: 'web', tag: '1' }],
    ['shop/web:1.2-rc', { repository: 'shop/web', tag: '1.2-rc' }],
    ['127.0.0.1:5000/shop/web:1', { registry: '127.0.0.1:5000', repository: 'shop/web', tag: '1' }],
    ['localhost/web', { registry: 'localhost', repository: 'web' }],
    [`web@${D}`, { repository: 'web', digest: D }],
    [`reg.example:443/web:1@${D}`, { registry: 'reg.example:443', repository: 'web', tag: '1', digest: D }],
    ['docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox' }],
  ];
  for (const [text, want] of cases) {
    it(`reads ${text}`, () => {
      assert.deepEqual(parseImageReference(text), want);
      assert.equal(formatImageReference(parseImageReference(formatImageReference(want))).length > 0, true);
    });
  }
  it('asks for the digest before the tag, and latest by default', () => {
    assert.equal(manifestReference(parseImageReference(`web:1@${D}`)), D);
    assert.equal(manifestReference(parseImageReference('web')), 'latest');
  });
  for (const bad of ['', 'Web:1', 'web:', 'web@sha256:abc', 'web:-x', '../etc/passwd', 'a//b', `host:99999999/x`]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseImageReference(bad), (e: RegistryError) => e.code === 'Invalid' && e.message.includes('not an image reference'));
    });
  }
});

describe('challenges', () => {
  it('reads a Bearer challenge with quoted commas', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"'),
      { scheme: 'bearer', params: { realm: 'https://a/token', service: 'reg', scope: 'repository:x:pull,push' } });
    assert.deepEqual(parseChallenge('Basic realm="basic-realm"'), { scheme: 'basic', params: { realm: 'basic-realm' } });
    assert.equal(parseChallenge(undefined), undefined);
  });
});

describe('manifests', () => {
  const desc = (platform?: Platform, mediaType: string = MEDIA_TYPES.ociManifest) => ({ mediaType, digest: D, size: 1, ...(platform ? { platform } : {}) });
  it('tells an index from a manifest by media type, header or fields', () => {
    assert.equal(parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), undefined, 'x').kind, 'index');
    assert.equal(parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), MEDIA_TYPES.dockerList, 'x').mediaType, MEDIA_TYPES.dockerList);
    const docker = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: desc(), layers: [desc()] })), undefined, 'x');
    assert.equal(docker.kind === 'manifest' && docker.layers.length, 1);
  });
  it('picks linux/<arch>, preferring no variant, never an attestation', () => {
    const list = [desc({ os: 'unknown', architecture: 'unknown' }), desc({ os: 'linux', architecture: 'arm64', variant: 'v8' }), desc({ os: 'linux', architecture: 'amd64' })];
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'amd64' }), list[2]);
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'arm64' }), list[1]);
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'arm64', variant: 'v7' }), undefined);
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'riscv64' }), undefined);
  });
});

describe('registry access for Tide identities', () => {
  const scopes = parseScopes(['repository:shop/web:pull,push repository:other/x:pull,push', 'registry:catalog:*', 'repository:BAD:pull']);
  it('reads every scope, drops malformed ones', () => {
    assert.deepEqual(scopes.map((s) => s.name), ['shop/web', 'other/x', 'catalog']);
  });
  it('view pulls; edit pushes in its namespace; admin does everything; nodes pull', () => {
    assert.deepEqual(grantAccess({ kind: 'user', name: 'v', role: 'view' }, scopes).map((s) => `${s.name}:${s.actions}`), ['shop/web:pull', 'other/x:pull']);
    assert.deepEqual(grantAccess({ kind: 'user', name: 'e', role: 'edit', namespace: 'shop' }, scopes).map((s) => `${s.name}:${s.actions}`), ['shop/web:pull,push', 'other/x:pull']);
    assert.deepEqual(grantAccess({ kind: 'user', name: 'e', role: 'edit' }, scopes).map((s) => `${s.name}:${s.actions}`), ['shop/web:pull,push', 'other/x:pull,push']);
    assert.deepEqual(grantAccess({ kind: 'user', name: 'a', role: 'admin' }, scopes).map((s) => `${s.name}:${s.actions}`), ['shop/web:pull,push', 'other/x:pull,push', 'catalog:*']);
    assert.deepEqual(grantAccess({ kind: 'node', name: 'n1' }, scopes).map((s) => `${s.name}:${s.actions}`), ['shop/web:pull', 'other/x:pull']);
    assert.deepEqual(grantAccess({ kind: 'join', tokenId: 'j' }, scopes), []);
  });
});

describe('cluster registry names', () => {
  it('keeps the cluster registry\'s images under their short name, others under their host', () => {
    assert.deepEqual(pullPlan('web:1', '127.0.0.1:7074'), { registry: '127.0.0.1:7074', cluster: true, repository: 'web', reference: '1', storeRef: 'web:1' });
    assert.deepEqual(pullPlan('127.0.0.1:7074/shop/web', '127.0.0.1:7074').storeRef, 'shop/web:latest');
    assert.deepEqual(pullPlan(`web@${D}`, '127.0.0.1:7074'), { registry: '127.0.0.1:7074', cluster: true, repository: 'web', reference: D, storeRef: `web:sha256-${'a'.repeat(64)}` });
    assert.deepEqual(pullPlan(`reg.example:5000/web:2@${D}`, '127.0.0.1:7074'), { registry: 'reg.example:5000', cluster: false, repository: 'web', reference: D, storeRef: 'reg.example:5000/web:2' });
    assert.throws(() => pullPlan('web:1', undefined), /names no registry/);
  });
  it('pushes NAME[:TAG] to the cluster registry only', () => {
    assert.deepEqual(pushPlan('shop/web', '127.0.0.1:7074'), { repository: 'shop/web', tag: 'latest', storeRef: 'shop/web:latest' });
    assert.throws(() => pushPlan('other:5000/web:1', '127.0.0.1:7074'), /pushed to the cluster's registry 127.0.0.1:7074/);
    assert.throws(() => pushPlan(`web@${D}`, '127.0.0.1:7074'), /not a digest/);
  });
});
