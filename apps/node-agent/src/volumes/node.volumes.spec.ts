/** emptyDir, hostPath and named local volumes on the node, against a temporary state dir (the tmpfs stood in for). */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigReferenceError, Volume } from '@tide/api';
import { assignment } from '../testing/assignments';
import { ConfigVolumes } from './config.volumes';
import { NodeVolumes, VolumeError, emptyDirLimit, prepareHostPath } from './node.volumes';

const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-node-volumes-'));
  dirs.push(dir);
  return dir;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function setUp() {
  const state = tempDir();
  const memory: string[] = [];
  const nodeVolumes = new NodeVolumes({ stateDir: state, memoryDir: (d) => void memory.push(d) });
  return { state, memory, nodeVolumes, configs: new ConfigVolumes({ stateDir: state, nodeVolumes, memoryDir: () => undefined }) };
}

const WEB = assignment('web-1', {
  namespace: 'shop',
  template: {
    limits: { memoryBytes: 128 * 2 ** 20 },
    volumes: [
      { name: 'cache', emptyDir: { sizeLimit: '64Mi' } }, { name: 'scratch', emptyDir: { medium: 'Memory' } },
      { name: 'data', localVolume: { name: 'pgdata' } },
    ],
    volumeMounts: [
      { name: 'cache', mountPath: '/cache' }, { name: 'scratch', mountPath: '/scratch', readOnly: true },
      { name: 'data', mountPath: '/var/lib/db', subPath: 'pg/main' },
    ],
  },
});

describe('NodeVolumes', () => {
  it('makes each volume where it lives, binds it writable unless readOnly, and makes a missing sub path', () => {
    const { state, memory, configs } = setUp();
    const { mounts } = configs.prepare('shop.web-1', WEB);
    assert.deepEqual(mounts, [
      { source: path.join(state, 'empty-dirs/shop.web-1/cache'), target: '/cache', directory: true, readOnly: false },
      { source: path.join(state, 'memory-volumes/shop.web-1/scratch'), target: '/scratch', directory: true, readOnly: true },
      { source: path.join(fs.realpathSync(state), 'local-volumes/shop/pgdata/pg/main'), target: '/var/lib/db', directory: true, readOnly: false },
    ]);
    assert.deepEqual(memory, [path.join(state, 'memory-volumes')], 'memory emptyDirs live in the tmpfs');
    assert.equal(fs.statSync(path.join(state, 'empty-dirs/shop.web-1/cache')).mode & 0o777, 0o777, 'any user of the container may write');
  });

  it('keeps an emptyDir across a restart of the container, removes it with the replica, and keeps the local volume', () => {
    const { state, configs } = setUp();
    configs.prepare('shop.web-1', WEB);
    fs.writeFileSync(path.join(state, 'empty-dirs/shop.web-1/cache/kept'), 'x');
    fs.writeFileSync(path.join(state, 'local-volumes/shop/pgdata/pg/main/row'), 'y');
    configs.prepare('shop.web-1', WEB); // the container restarts
    assert.ok(fs.existsSync(path.join(state, 'empty-dirs/shop.web-1/cache/kept')));
    configs.release('shop.web-1');
    assert.ok(!fs.existsSync(path.join(state, 'empty-dirs/shop.web-1')) && !fs.existsSync(path.join(state, 'memory-volumes/shop.web-1')));
    assert.equal(fs.readFileSync(path.join(state, 'local-volumes/shop/pgdata/pg/main/row'), 'utf8'), 'y', 'outlives the replica');
  });

  it('after an agent restart, keeps the emptyDirs of replicas running or still desired, and sweeps the others at the first desired set', () => {
    const { state, configs } = setUp();
    configs.prepare('shop.web-1', WEB);
    configs.prepare('shop.web-2', { ...WEB, name: 'web-2' });
    configs.prepare('shop.web-3', { ...WEB, name: 'web-3' });
    const restarted = new ConfigVolumes({ stateDir: state, nodeVolumes: new NodeVolumes({ stateDir: state, memoryDir: () => undefined }), memoryDir: () => undefined });
    restarted.sweep(new Set(['shop.web-1'])); // web-2 and web-3 have no container now
    assert.ok(fs.existsSync(path.join(state, 'empty-dirs/shop.web-2/cache')), 'nothing of an emptyDir goes before the desired set is known');
    restarted.update([], [{ ...WEB, name: 'web-2' }]);
    assert.deepEqual(fs.readdirSync(path.join(state, 'empty-dirs')).sort(), ['shop.web-1', 'shop.web-2'], 'web-3 is neither running nor desired');
  });

  it('refuses a sub path a container turned into a link out of its volume, making nothing there', () => {
    const { state, configs } = setUp();
    const outside = tempDir();
    configs.prepare('shop.web-1', WEB);
    fs.rmSync(path.join(state, 'local-volumes/shop/pgdata/pg'), { recursive: true });
    fs.symlinkSync(outside, path.join(state, 'local-volumes/shop/pgdata/pg'));
    assert.throws(() => configs.prepare('shop.web-1', WEB), (e: Error) => e instanceof ConfigReferenceError && /subPath "pg\/main" leads out of volume data/.test(e.message));
    assert.deepEqual(fs.readdirSync(outside), [], 'no directory made through the link');
  });

  it('lists the local volumes with their size, and measures the emptyDirs with a limit of running containers', () => {
    const { nodeVolumes, configs, state } = setUp();
    configs.prepare('shop.web-1', WEB);
    assert.deepEqual(nodeVolumes.localVolumes(() => 4096), [{ namespace: 'shop', name: 'pgdata', sizeBytes: 4096 }]);
    const record = { key: 'shop/web-1', container: { id: 'shop.web-1' }, assignment: WEB };
    const measured = [...nodeVolumes.measured([record])];
    assert.deepEqual(measured.map((m) => [m.dir, m.limitBytes, m.reason]), [
      [path.join(state, 'empty-dirs/shop.web-1/cache'), 64 * 2 ** 20, 'Evicted'],
      [path.join(state, 'memory-volumes/shop.web-1/scratch'), 128 * 2 ** 20, 'Evicted'], // no sizeLimit: the container's memory limit
    ]);
    assert.equal(measured[0].describe!(80 * 2 ** 20), 'emptyDir volume "cache" used 80Mi, over its sizeLimit 64Mi');
    assert.equal(measured[1].describe!(130 * 2 ** 20), 'emptyDir volume "scratch" used 130Mi, over its container\'s memory limit 128Mi');
    assert.deepEqual([...nodeVolumes.measured([{ ...record, exit: {} }])], [], 'an exited container is not measured');
  });
});

describe('emptyDirLimit', () => {
  const cases: [string, Volume, number | undefined, number | undefined][] = [
    ['disk with a sizeLimit', { name: 'a', emptyDir: { sizeLimit: '1Mi' } }, 99, 2 ** 20],
    ['disk without: unbounded', { name: 'a', emptyDir: {} }, 99, undefined],
    ['memory without: the memory limit', { name: 'a', emptyDir: { medium: 'Memory' } }, 99, 99],
    ['memory without either: unbounded (the node\'s memory)', { name: 'a', emptyDir: { medium: 'Memory' } }, undefined, undefined],
    ['not an emptyDir', { name: 'a', localVolume: { name: 'x' } }, 99, undefined],
  ];
  for (const [name, volume, memory, expected] of cases) it(name, () => assert.equal(emptyDirLimit(volume, memory), expected));
});

describe('prepareHostPath', () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'dir'));
  fs.writeFileSync(path.join(root, 'file'), '');
  const hostPath = (p: string, type?: NonNullable<Volume['hostPath']>['type']): Volume => ({ name: 'host', hostPath: { path: path.join(root, p), ...(type !== undefined ? { type } : {}) } });

  it('makes a missing directory or file for the *OrCreate types', () => {
    assert.equal(prepareHostPath(hostPath('made/dir', 'DirectoryOrCreate')), path.join(root, 'made/dir'));
    assert.ok(fs.statSync(path.join(root, 'made/dir')).isDirectory());
    prepareHostPath(hostPath('made/file', 'FileOrCreate'));
    assert.ok(fs.statSync(path.join(root, 'made/file')).isFile());
  });

  it('accepts what is there with the right type, a socket included', async () => {
    const server = net.createServer().listen(path.join(root, 'sock'));
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      for (const [p, type] of [['dir', 'Directory'], ['file', 'File'], ['sock', 'Socket'], ['dir', ''], ['dir', 'DirectoryOrCreate']] as const) {
        assert.equal(prepareHostPath(hostPath(p, type)), path.join(root, p));
      }
    } finally {
      server.close();
    }
  });

  const refusals: [string, Volume, RegExp][] = [
    ['a missing Directory', hostPath('nope', 'Directory'), /^volume host: hostPath .*\/nope does not exist on the node \(type Directory: it must be there already\)$/],
    ['a file given as Directory', hostPath('file', 'Directory'), /hostPath .*\/file is a file, not a directory \(type Directory\)$/],
    ['a directory given as File', hostPath('dir', 'File'), /hostPath .*\/dir is a directory, not a file \(type File\)$/],
    ['a file given as Socket', hostPath('file', 'Socket'), /is a file, not a socket \(type Socket\)$/],
    ['a file where DirectoryOrCreate wants a directory', hostPath('file', 'DirectoryOrCreate'), /is a file, not a directory \(type DirectoryOrCreate\)$/],
    ['a missing path of no type', hostPath('nope'), /does not exist on the node \(give type DirectoryOrCreate or FileOrCreate to have it made\)$/],
  ];
  for (const [name, volume, message] of refusals) {
    it(`refuses ${name}, naming the volume and the path`, () => {
      assert.throws(() => prepareHostPath(volume), (e: Error) => e instanceof VolumeError && e instanceof ConfigReferenceError && message.test(e.message));
    });
  }
});
