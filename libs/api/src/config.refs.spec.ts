import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigData, ConfigReferenceError, configHash, configKeyOf, redactSecret, referencedConfigs, resolveEnv, volumeFiles } from './config.refs';
import type { Secret } from './config.types';

const config = (kind: ConfigData['kind'], name: string, data: Record<string, string>, version = '1'): ConfigData => ({
  kind, namespace: 'shop', name, version, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
});
const OBJECTS = [config('ConfigMap', 'web', { LOG_LEVEL: 'info', MODE: 'from-map', 'nginx.conf': 'worker 1;' }), config('Secret', 'db', { password: 's3cret', user: 'app' })];
const lookup = (objects: ConfigData[]) => (key: string) => objects.find((o) => configKeyOf(o.kind, o.namespace, o.name) === key);

describe('resolveEnv', () => {
  it('orders envFrom, then env over it, and keeps every Secret value apart', () => {
    const resolved = resolveEnv('shop', {
      env: { MODE: 'plain' },
      envFrom: [{ configMapRef: { name: 'web' } }, { secretRef: { name: 'db' }, prefix: 'DB_' }],
      envRefs: { PASSWORD: { secretKeyRef: { name: 'db', key: 'password' } }, LEVEL: { configMapKeyRef: { name: 'web', key: 'LOG_LEVEL' } } },
    }, lookup(OBJECTS));
    assert.deepEqual(resolved.env, { LOG_LEVEL: 'info', MODE: 'plain', 'nginx.conf': 'worker 1;', LEVEL: 'info' });
    assert.deepEqual(resolved.secretEnv, { DB_password: 's3cret', DB_user: 'app', PASSWORD: 's3cret' });
  });

  it('names a missing object or key, and skips an optional one', () => {
    assert.throws(() => resolveEnv('shop', { env: {}, envRefs: { P: { secretKeyRef: { name: 'db', key: 'nope' } } } }, lookup(OBJECTS)),
      (error: Error) => error instanceof ConfigReferenceError && /env P: key "nope" of secret "db" not found/.test(error.message) && !error.message.includes('s3cret'));
    assert.throws(() => resolveEnv('shop', { env: {}, envFrom: [{ configMapRef: { name: 'gone' } }] }, lookup(OBJECTS)), /configmap "gone" not found \(envFrom\)/);
    const optional = resolveEnv('shop', { env: {}, envFrom: [{ configMapRef: { name: 'gone', optional: true } }], envRefs: { P: { secretKeyRef: { name: 'db', key: 'x', optional: true } } } }, lookup(OBJECTS));
    assert.deepEqual(optional, { env: {}, secretEnv: {} });
  });
});

describe('volumeFiles', () => {
  it('gives every key at its name with the default mode, or the items at their paths and modes', () => {
    const all = volumeFiles('shop', { name: 'conf', configMap: { name: 'web' } }, lookup(OBJECTS));
    assert.deepEqual(all.map((f) => [f.path, f.data.toString(), f.mode]), [['LOG_LEVEL', 'info', 0o644], ['MODE', 'from-map', 0o644], ['nginx.conf', 'worker 1;', 0o644]]);
    const items = volumeFiles('shop', { name: 'tls', secret: { secretName: 'db', defaultMode: 0o400, items: [{ key: 'password', path: 'db/pass' }, { key: 'user', path: 'user', mode: 0o440 }] } }, lookup(OBJECTS));
    assert.deepEqual(items.map((f) => [f.path, f.mode]), [['db/pass', 0o400], ['user', 0o440]]);
  });

  it('is empty for a missing optional object and refuses a missing required one', () => {
    assert.deepEqual(volumeFiles('shop', { name: 'x', secret: { secretName: 'gone', optional: true } }, lookup(OBJECTS)), []);
    assert.throws(() => volumeFiles('shop', { name: 'x', configMap: { name: 'gone' } }, lookup(OBJECTS)), /volume x: configmap "gone" not found/);
  });
});

describe('configHash', () => {
  const key = Buffer.alloc(32, 7);
  const reads = { envRefs: { P: { secretKeyRef: { name: 'db', key: 'password' } } } };

  it('changes with a value the env reads, not with a key it does not read, and none without reads', () => {
    const before = configHash('shop', reads, lookup(OBJECTS), key);
    const userChanged = [OBJECTS[0], config('Secret', 'db', { password: 's3cret', user: 'other' }, '2')];
    const passwordChanged = [OBJECTS[0], config('Secret', 'db', { password: 'n3w', user: 'app' }, '3')];
    assert.equal(configHash('shop', reads, lookup(userChanged), key), before);
    assert.notEqual(configHash('shop', reads, lookup(passwordChanged), key), before);
    assert.notEqual(configHash('shop', reads, lookup([]), key), before, 'the object going is a change too');
    assert.equal(configHash('shop', { volumes: [{ name: 'v', secret: { secretName: 'db' } }] }, lookup(OBJECTS), key), undefined, 'volumes are swapped in place, not rolled');
  });

  it('is keyed: without the key the digest tells nothing of the value', () => {
    assert.notEqual(configHash('shop', reads, lookup(OBJECTS), key), configHash('shop', reads, lookup(OBJECTS), Buffer.alloc(32, 8)));
  });
});

describe('referencedConfigs and redactSecret', () => {
  it('lists every object env and volumes name, once', () => {
    const keys = referencedConfigs('shop', {
      envFrom: [{ configMapRef: { name: 'web' } }], envRefs: { P: { secretKeyRef: { name: 'db', key: 'password' } } },
      volumes: [{ name: 'a', configMap: { name: 'web' } }, { name: 'b', secret: { secretName: 'tls' } }],
    });
    assert.deepEqual(keys.sort(), ['ConfigMap/shop/web', 'Secret/shop/db', 'Secret/shop/tls']);
  });

  it('keeps keys and type, and no value', () => {
    const secret: Secret = { apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, type: 'Opaque', data: { password: Buffer.from('s3cret').toString('base64') } };
    const shown = redactSecret(secret);
    assert.deepEqual(shown.data, { password: '<redacted>' });
    assert.ok(!JSON.stringify(shown).includes(secret.data!.password));
  });
});
