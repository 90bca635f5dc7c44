import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { adminOnlyFields, unwiredFields } from './admin.fields';
import { Service } from './types';
import { validateDocument, validateObject } from './validation';

function service(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' }, spec: { replicas: 2, image: 'busybox', ...spec } };
}

const VOLUMES = [
  { name: 'scratch', emptyDir: {} },
  { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
  { name: 'config', configMap: { name: 'web-config', items: [{ key: 'nginx.conf', path: 'conf/nginx.conf', mode: 0o600 }], defaultMode: 0o644 } },
  { name: 'tls', secret: { secretName: 'web-tls', optional: true } },
  { name: 'logs', hostPath: { path: '/var/log/web', type: 'DirectoryOrCreate' } },
  { name: 'data', localVolume: { name: 'web-data' } },
];
const MOUNTS = [
  { name: 'config', mountPath: '/etc/nginx', readOnly: true },
  { name: 'config', mountPath: '/etc/app/nginx.conf', subPath: 'conf/nginx.conf' },
  { name: 'cache', mountPath: '/dev/shm' },
  { name: 'data', mountPath: '/var/lib/web/' },
];
const ENV = {
  MODE: 'production',
  DB_PASSWORD: { valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
  LOG_LEVEL: { valueFrom: { configMapKeyRef: { name: 'web-config', key: 'log.level', optional: true } } },
};
const ENV_FROM = [{ configMapRef: { name: 'web-config' } }, { secretRef: { name: 'db', optional: false }, prefix: 'DB_' }];

describe('Service volumes, mounts, env from ConfigMaps and Secrets', () => {
  it('accepts every volume source, mounts, valueFrom and envFrom, and keeps them', () => {
    const result = validateObject(service({ volumes: VOLUMES, volumeMounts: MOUNTS, env: ENV, envFrom: ENV_FROM, privileged: false }), 0);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const spec = (result.object as Service).spec;
    assert.deepEqual([spec.volumes, spec.volumeMounts, spec.env, spec.envFrom], [VOLUMES, MOUNTS, ENV, ENV_FROM]);
  });

  // Each bad input names the field a user has to fix.
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['a size limit that is no quantity', { volumes: [{ name: 'v', emptyDir: { sizeLimit: 'lots' } }] }, 'spec.volumes[0].emptyDir.sizeLimit', /invalid quantity "lots"/],
    ['a zero size limit', { volumes: [{ name: 'v', emptyDir: { sizeLimit: 0 } }] }, 'spec.volumes[0].emptyDir.sizeLimit', /above 0/],
    ['an unknown medium', { volumes: [{ name: 'v', emptyDir: { medium: 'HugePages' } }] }, 'spec.volumes[0].emptyDir.medium', /Memory/],
    ['two sources', { volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }] }, 'spec.volumes[0]', /exactly one source.*got emptyDir and hostPath/],
    ['no source', { volumes: [{ name: 'v' }] }, 'spec.volumes[0]', /exactly one source/],
    ['an unknown source', { volumes: [{ name: 'v', nfs: { server: 'x' } }] }, 'spec.volumes[0].nfs', /unknown field/],
    ['a duplicate volume', { volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }] }, 'spec.volumes[1].name', /duplicate volume name "v"/],
    ['a relative host path', { volumes: [{ name: 'v', hostPath: { path: 'var/log' } }] }, 'spec.volumes[0].hostPath.path', /absolute/],
    ['a device host path', { volumes: [{ name: 'v', hostPath: { path: '/dev/sda', type: 'BlockDevice' } }] }, 'spec.volumes[0].hostPath.type', /one of DirectoryOrCreate/],
    ['an item path climbing out', { volumes: [{ name: 'v', configMap: { name: 'c', items: [{ key: 'k', path: '../etc/passwd' }] } }] }, 'spec.volumes[0].configMap.items[0].path', /without ".."/],
    ['a mode above 0777', { volumes: [{ name: 'v', secret: { secretName: 's', defaultMode: 4095 } }] }, 'spec.volumes[0].secret.defaultMode', /between 0 and 511/],
    ['a secret volume without its secret', { volumes: [{ name: 'v', secret: {} }] }, 'spec.volumes[0].secret.secretName', /required/],
    ['a mount of no volume', { volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'w', mountPath: '/w' }] }, 'spec.volumeMounts[0].name', /names none of spec.volumes \(named: v\)/],
    ['a relative mount path', { volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: 'data' }] }, 'spec.volumeMounts[0].mountPath', /absolute/],
    ['a mount over /proc', { volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/proc' }] }, 'spec.volumeMounts[0].mountPath', /container's \/proc/],
    ['two mounts at one path', { volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/d' }, { name: 'v', mountPath: '/d/' }] }, 'spec.volumeMounts[1].mountPath', /duplicate/],
    ['a sub path climbing out', { volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/d', subPath: 'a/../../b' }] }, 'spec.volumeMounts[0].subPath', /without ".."/],
    ['an env value that is a number', { env: { PORT: 8080 } }, 'spec.env.PORT', /a string or \{ valueFrom/],
    ['valueFrom with two refs', { env: { X: { valueFrom: { configMapKeyRef: { name: 'c', key: 'k' }, secretKeyRef: { name: 's', key: 'k' } } } } }, 'spec.env.X.valueFrom', /exactly one of configMapKeyRef, secretKeyRef/],
    ['valueFrom a field', { env: { POD: { valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } } } }, 'spec.env.POD.valueFrom.fieldRef', /unknown field/],
    ['a key ref without a key', { env: { X: { valueFrom: { secretKeyRef: { name: 'db' } } } } }, 'spec.env.X.valueFrom.secretKeyRef.key', /required/],
    ['a key with a slash', { env: { X: { valueFrom: { configMapKeyRef: { name: 'c', key: 'a/b' } } } } }, 'spec.env.X.valueFrom.configMapKeyRef.key', /letters, digits/],
    ['envFrom with no ref', { envFrom: [{ prefix: 'A_' }] }, 'spec.envFrom[0]', /exactly one of configMapRef, secretRef/],
    ['envFrom of an upper-case name', { envFrom: [{ secretRef: { name: 'DB' } }] }, 'spec.envFrom[0].secretRef.name', /lower-case/],
    ['privileged as text', { privileged: 'yes' }, 'spec.privileged', /true or false/],
  ];
  for (const [title, spec, path, message] of bad) {
    it(`refuses ${title} at ${path}`, () => {
      const result = validateObject(service(spec), 2);
      assert.ok(!result.ok, 'invalid');
      const error = result.errors.find((e) => e.path === path);
      assert.ok(error, `an error at ${path}, got ${JSON.stringify(result.errors)}`);
      assert.equal(error.document, 2);
      assert.match(error.message, message);
    });
  }

  it('lists the admin-only fields a Service uses, with their paths', () => {
    const result = validateObject(service({
      network: 'host', privileged: true, volumes: VOLUMES, securityContext: { seccompProfile: { type: 'Unconfined' } },
    }), 0);
    assert.ok(result.ok);
    assert.deepEqual(adminOnlyFields(result.object).map((f) => [f.path, f.feature]), [
      ['spec.volumes[4].hostPath', 'hostPath'], ['spec.network', 'hostNetwork'], ['spec.privileged', 'privileged'],
      ['spec.securityContext.seccompProfile.type', 'seccompUnconfined'],
    ]);
    const plain = validateObject(service({ volumes: VOLUMES.slice(0, 2) }), 0);
    assert.ok(plain.ok);
    assert.deepEqual(adminOnlyFields(plain.object), [], 'emptyDir, bridge network, unprivileged: nothing to guard');
  });

  it('the control plane refuses, field by field, what it cannot run yet, and runs the rest', () => {
    const result = validateDocument(service({ privileged: true, volumes: VOLUMES, volumeMounts: [{ name: 'scratch', mountPath: '/tmp/s' }], env: ENV, envFrom: ENV_FROM }), 1);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => e.path), ['spec.privileged'], 'every volume source and env from ConfigMaps and Secrets runs');
    assert.match(result.errors[0].message, /valid, but the node agents do not run it yet/);
    const plain = validateDocument(service({ env: { MODE: 'x' } }), 0);
    assert.ok(plain.ok && unwiredFields(plain.object.spec).length === 0);
  });
});
