/** A replica's ConfigMaps and Secrets on the node, against a temporary state dir (the tmpfs stood in for). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigData, ConfigReferenceError, ReplicaAssignment } from '@tide/api';
import { ConfigVolumes } from './config.volumes';

const data = (kind: ConfigData['kind'], name: string, values: Record<string, string>, version = '1'): ConfigData => ({
  kind, namespace: 'shop', name, version, data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v)])),
});
const ASSIGNMENT: ReplicaAssignment = {
  namespace: 'shop', name: 'web-1', service: 'web', templateHash: 'h',
  template: {
    image: 'busybox', command: [], args: [], env: { MODE: 'x' }, requests: { cpuMillis: 100, memoryBytes: 1 }, limits: {}, ports: [],
    network: 'host', restartPolicy: 'Always', terminationGracePeriodSeconds: 1,
    envRefs: { PASSWORD: { secretKeyRef: { name: 'db', key: 'password' } }, LEVEL: { configMapKeyRef: { name: 'web', key: 'level' } } },
    volumes: [{ name: 'conf', configMap: { name: 'web' } }, { name: 'db', secret: { secretName: 'db', defaultMode: 0o400 } }],
    volumeMounts: [{ name: 'conf', mountPath: '/etc/web' }, { name: 'db', mountPath: '/etc/db/password', subPath: 'password' }],
  },
};

function withVolumes(test: (volumes: ConfigVolumes, dir: string, memory: string[]) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-config-volumes-'));
  const memory: string[] = [];
  try {
    test(new ConfigVolumes({ stateDir: dir, memoryDir: (d) => void memory.push(d) }), dir, memory);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('ConfigVolumes', () => {
  it('resolves the env (Secrets apart), writes the volumes (Secrets in memory) and mounts them read-only', () => {
    withVolumes((volumes, dir, memory) => {
      volumes.update([data('ConfigMap', 'web', { level: 'debug' }), data('Secret', 'db', { password: 's3cret' })], [ASSIGNMENT]);
      const prepared = volumes.prepare('shop.web-1', ASSIGNMENT);
      assert.deepEqual(prepared.env, { MODE: 'x', LEVEL: 'debug' });
      assert.deepEqual(prepared.secretEnv, { PASSWORD: 's3cret' });
      assert.deepEqual(memory, [path.join(dir, 'secret-volumes')], 'the secret volume is written only after the tmpfs is asked for');
      assert.equal(fs.readFileSync(path.join(dir, 'secret-volumes/shop.web-1/db/password'), 'utf8'), 's3cret');
      assert.equal(fs.readFileSync(path.join(dir, 'volumes/shop.web-1/conf/level'), 'utf8'), 'debug');
      assert.deepEqual(prepared.mounts, [
        { source: path.join(dir, 'volumes/shop.web-1/conf'), target: '/etc/web', directory: true, readOnly: true },
        { source: path.join(dir, 'secret-volumes/shop.web-1/db/password'), target: '/etc/db/password', directory: false, readOnly: true },
      ]);
    });
  });

  it('swaps new content into the volumes of a prepared replica, and removes them with it', () => {
    withVolumes((volumes, dir) => {
      volumes.update([data('ConfigMap', 'web', { level: 'debug' }), data('Secret', 'db', { password: 'a' })], [ASSIGNMENT]);
      volumes.prepare('shop.web-1', ASSIGNMENT);
      volumes.update([data('ConfigMap', 'web', { level: 'info' }, '2'), data('Secret', 'db', { password: 'a' })], [ASSIGNMENT]);
      assert.equal(fs.readFileSync(path.join(dir, 'volumes/shop.web-1/conf/level'), 'utf8'), 'info');
      volumes.release('shop.web-1');
      assert.ok(!fs.existsSync(path.join(dir, 'volumes/shop.web-1')) && !fs.existsSync(path.join(dir, 'secret-volumes/shop.web-1')));
    });
  });

  it('refuses a start whose Secret is missing, naming it, and writes nothing of the Secret to disk when memory cannot be had', () => {
    withVolumes((volumes) => {
      volumes.update([data('ConfigMap', 'web', { level: 'debug' })], [ASSIGNMENT]);
      assert.throws(() => volumes.prepare('shop.web-1', ASSIGNMENT), (e: Error) => e instanceof ConfigReferenceError && /key "password" of secret "db" not found/.test(e.message));
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-config-volumes-'));
    try {
      const volumes = new ConfigVolumes({ stateDir: dir, memoryDir: () => { throw new Error('mount: permission denied'); } });
      volumes.update([data('ConfigMap', 'web', { level: 'debug' }), data('Secret', 'db', { password: 's3cret' })], [ASSIGNMENT]);
      assert.throws(() => volumes.prepare('shop.web-1', ASSIGNMENT), /cannot hold secret volumes in memory/);
      assert.ok(!fs.existsSync(path.join(dir, 'secret-volumes/shop.web-1')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
