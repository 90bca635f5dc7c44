import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { validateDocument } from './validation';

function service(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' }, spec: { replicas: 2, image: 'busybox', ...spec }, ...extra };
}

describe('validateDocument', () => {
  it('accepts a minimal service and fills defaults', () => {
    const result = validateDocument(service({}), 0);
    assert.ok(result.ok);
    assert.equal(result.object.metadata.namespace, 'default');
    assert.equal(result.object.spec.restartPolicy, 'Always');
    assert.equal(result.object.spec.terminationGracePeriodSeconds, 30);
    assert.equal(result.object.spec.network, 'bridge', 'a network namespace of its own unless host is asked for');
  });

  it('keeps the resourceVersion the caller read, and refuses one that is not a revision', () => {
    const read = validateDocument({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', resourceVersion: '42' }, spec: { replicas: 1, image: 'busybox' } }, 0);
    assert.ok(read.ok);
    assert.equal(read.object.metadata.resourceVersion, '42');
    const bad = validateDocument({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', resourceVersion: 'latest' }, spec: { replicas: 1, image: 'busybox' } }, 0);
    assert.ok(!bad.ok);
    assert.equal(bad.errors[0].path, 'metadata.resourceVersion');
  });

  it('accepts both network modes', () => {
    for (const network of ['bridge', 'host']) {
      const result = validateDocument(service({ network }), 0);
      assert.ok(result.ok && result.object.spec.network === network, network);
    }
  });

  // Each bad input names the field path a user has to fix.
  const bad: [string, unknown, string, RegExp][] = [
    ['unknown kind', { apiVersion: 'tide/v1', kind: 'Gadget', metadata: { name: 'g' } }, 'kind', /known kinds: Service/],
    ['wrong type', service({ replicas: 'three' }), 'spec.replicas', /integer/],
    ['cpu abc', service({ resources: { requests: { cpu: 'abc' } } }), 'spec.resources.requests.cpu', /invalid quantity "abc"/],
    ['memory 12Qi', service({ resources: { limits: { memory: '12Qi' } } }), 'spec.resources.limits.memory', /invalid quantity "12Qi"/],
    ['ephemeral-storage 1Qi', service({ resources: { limits: { 'ephemeral-storage': '1Qi' } } }), 'spec.resources.limits.ephemeral-storage', /invalid quantity "1Qi"/],
    ['ephemeral-storage as a request', service({ resources: { requests: { 'ephemeral-storage': '1Gi' } } }), 'spec.resources.requests.ephemeral-storage', /./],
    ['replicas -1', service({ replicas: -1 }), 'spec.replicas', /≥ 0|between 0/],
    ['missing image', service({ image: undefined }), 'spec.image', /required/],
    ['unknown field', service({ replica: 3 }), 'spec.replica', /unknown field/],
    ['bad restart policy', service({ restartPolicy: 'Sometimes' }), 'spec.restartPolicy', /Always, OnFailure, Never/],
    ['limit below request', service({ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }), 'spec.resources.limits.cpu', /at least the request/],
    ['bad name', { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'Web_1' }, spec: { replicas: 1, image: 'x' } }, 'metadata.name', /lower-case/],
    ['unknown network mode', service({ network: 'overlay' }), 'spec.network', /one of bridge, host/],
    ['port out of range', service({ ports: [{ containerPort: 70000 }] }), 'spec.ports[0].containerPort', /between 1 and 65535/],
    ['service port out of range', service({ ports: [{ containerPort: 8080, port: 0 }] }), 'spec.ports[0].port', /between 1 and 65535/],
    ['two ports on one service port', service({ ports: [{ containerPort: 8080, port: 80 }, { containerPort: 80 }] }), 'spec.ports[1].port', /duplicate service port 80/],
    ['user with spaces', service({ user: 'web server' }), 'spec.user', /"uid", "uid:gid", "name" or "name:group"/],
    ['user with two colons', service({ user: '1:2:3' }), 'spec.user', /"uid", "uid:gid"/],
    ['empty group', service({ user: 'app:' }), 'spec.user', /"name:group"/],
    ['uid out of range', service({ user: '4294967295' }), 'spec.user', /out of range/],
    ['numeric user', service({ user: 1000 }), 'spec.user', /must be a string, got number 1000/],
    ['read-only root as text', service({ readOnlyRootFilesystem: 'yes' }), 'spec.readOnlyRootFilesystem', /true or false/],
    ['a Localhost seccomp profile', service({ securityContext: { seccompProfile: { type: 'Localhost' } } }), 'spec.securityContext.seccompProfile.type',
      /Localhost profiles are not supported: use RuntimeDefault \(the default\) or Unconfined \(admin only\)/],
    ['an unknown seccomp profile', service({ securityContext: { seccompProfile: { type: 'none' } } }), 'spec.securityContext.seccompProfile.type',
      /one of RuntimeDefault, Unconfined/],
    ['a seccomp profile without type', service({ securityContext: { seccompProfile: {} } }), 'spec.securityContext.seccompProfile.type', /required/],
    ['a securityContext field Tide lacks', service({ securityContext: { runAsUser: 0 } }), 'spec.securityContext.runAsUser', /unknown/],
  ];
  for (const [title, doc, path, message] of bad) {
    it(`refuses ${title} at ${path}`, () => {
      const result = validateDocument(doc, 3);
      assert.ok(!result.ok, 'invalid');
      const error = result.errors.find((e) => e.path === path);
      assert.ok(error, `an error at ${path}, got ${JSON.stringify(result.errors)}`);
      assert.equal(error.document, 3);
      assert.match(error.message, message);
    });
  }

  it('accepts the user forms and a read-only root, and keeps them', () => {
    for (const user of ['1000', '1000:50', 'app', 'app:staff', 'www-data', 'app:50']) {
      const result = validateDocument(service({ user, readOnlyRootFilesystem: true }), 0);
      assert.ok(result.ok, `${user}: ${JSON.stringify(!result.ok && result.errors)}`);
      assert.equal(result.object.spec.user, user);
      assert.equal(result.object.spec.readOnlyRootFilesystem, true);
    }
  });

  it('accepts both seccomp profiles and keeps them', () => {
    for (const type of ['RuntimeDefault', 'Unconfined'] as const) {
      const result = validateDocument(service({ securityContext: { seccompProfile: { type } } }), 0);
      assert.ok(result.ok, `${type}: ${JSON.stringify(!result.ok && result.errors)}`);
      assert.equal(result.object.spec.securityContext?.seccompProfile?.type, type);
    }
  });

  it('collects every error of a document', () => {
    const result = validateDocument(service({ replicas: -1, image: undefined, resources: { requests: { cpu: 'abc' } } }), 0);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => e.path).sort(), ['spec.image', 'spec.replicas', 'spec.resources.requests.cpu']);
  });
});
