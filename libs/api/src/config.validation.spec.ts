import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { validateApplied, validateDocument, validateObject } from './validation';

const meta = { name: 'web-config', namespace: 'shop' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('ConfigMap, Secret and Namespace', () => {
  it('accepts a ConfigMap with text and binary keys', () => {
    const doc = { apiVersion: 'tide/v1', kind: 'ConfigMap', metadata: meta, data: { 'nginx.conf': 'worker_processes 1;\n', LOG_LEVEL: 'info' }, binaryData: { 'logo.png': b64('\x89PNG') } };
    const result = validateObject(doc, 0);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.object, doc);
  });

  it('merges a Secret\'s stringData into data as base64 and defaults its type, as Kubernetes stores it', () => {
    const doc = { apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db' }, data: { user: b64('shop'), password: b64('old') }, stringData: { password: 's3cret' } };
    const result = validateObject(doc, 0);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.object, {
      apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, type: 'Opaque',
      data: { user: b64('shop'), password: b64('s3cret') },
    });
  });

  it('accepts a TLS secret with its two keys and a namespace without one', () => {
    const tls = validateObject({ apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'web-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } }, 0);
    assert.ok(tls.ok, JSON.stringify(!tls.ok && tls.errors));
    const ns = validateObject({ apiVersion: 'tide/v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'web' } } }, 0);
    assert.ok(ns.ok);
    assert.deepEqual(ns.object.metadata, { name: 'shop', labels: { team: 'web' } });
  });

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['a number in data', { kind: 'ConfigMap', metadata: meta, data: { replicas: 3 } }, 'data.replicas', /must be a string, got number 3: quote it/],
    ['a key with a slash', { kind: 'ConfigMap', metadata: meta, data: { 'a/b': 'x' } }, 'data.a/b', /letters, digits/],
    ['a key in data and binaryData', { kind: 'ConfigMap', metadata: meta, data: { k: 'x' }, binaryData: { k: b64('y') } }, 'binaryData.k', /not both/],
    ['binaryData that is not base64', { kind: 'ConfigMap', metadata: meta, binaryData: { k: 'not base64!' } }, 'binaryData.k', /base64/],
    ['an upper-case name', { kind: 'ConfigMap', metadata: { name: 'Web' } }, 'metadata.name', /lower-case letters, digits, '-' and '.'/],
    ['a spec', { kind: 'ConfigMap', metadata: meta, spec: {} }, 'spec', /unknown field/],
    ['more than 1 MiB', { kind: 'ConfigMap', metadata: meta, data: { big: 'x'.repeat(1024 * 1024 + 1) } }, 'data', /at most 1048576/],
    ['secret data in clear', { kind: 'Secret', metadata: meta, data: { password: 's3cret!' } }, 'data.password', /base64.*use stringData/],
    ['a TLS secret without its key', { kind: 'Secret', metadata: meta, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } }, 'data', /needs "tls.key"/],
    ['a service-account token', { kind: 'Secret', metadata: meta, type: 'kubernetes.io/service-account-token' }, 'type', /no service accounts/],
    ['a bad type', { kind: 'Secret', metadata: meta, type: 'my secret' }, 'type', /not a secret type/],
    ['a namespaced Namespace', { kind: 'Namespace', metadata: { name: 'shop', namespace: 'default' } }, 'metadata.namespace', /unknown field/],
    ['a long namespace', { kind: 'Namespace', metadata: { name: 'n'.repeat(64) } }, 'metadata.name', /at most 63/],
  ];
  for (const [title, doc, path, message] of bad) {
    it(`refuses ${title} at ${path}`, () => {
      const result = validateObject({ apiVersion: 'tide/v1', ...doc }, 4);
      assert.ok(!result.ok, 'invalid');
      const error = result.errors.find((e) => e.path === path);
      assert.ok(error, `an error at ${path}, got ${JSON.stringify(result.errors)}`);
      assert.equal(error.document, 4);
      assert.match(error.message, message);
    });
  }

  it('apply takes ConfigMaps and Secrets, not Namespaces yet, and points Kubernetes manifests to the converter', () => {
    const stored = validateApplied({ apiVersion: 'tide/v1', kind: 'ConfigMap', metadata: meta, data: {} }, 0);
    assert.ok(stored.ok && stored.object.kind === 'ConfigMap');
    const namespace = validateApplied({ apiVersion: 'tide/v1', kind: 'Namespace', metadata: { name: 'shop' } }, 0);
    assert.ok(!namespace.ok);
    assert.deepEqual(namespace.errors.map((e) => e.path), ['kind']);
    assert.match(namespace.errors[0].message, /does not store Namespaces yet/);
    const kube = validateDocument({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } }, 0);
    assert.ok(!kube.ok);
    assert.match(kube.errors[0].message, /tsctl apply and tsctl convert turn them into tide\/v1/);
  });
});
