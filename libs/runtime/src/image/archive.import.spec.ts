/**
 * Import and export of image archives against real files: an OCI layout (nested index, gzip layers),
 * `docker save` archives in both layouts made with GNU tar, an export→import round trip, removal
 * with garbage collection, and imports racing on one image dir (the local cluster shares one).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createImageService } from '../image.service';
import { ImageStore } from './image.store';
import { ImageService } from './image.types';
import { dir, file, imageConfig, ociArchive, symlink, tarBytes, writeTemp } from './image.testing';
import { sha256 } from './oci';
import { ContainerRuntime } from '../runtime.types';

const noRuntime = {} as ContainerRuntime; // imports never start containers

describe('image archives', () => {
  let work: string;
  let base: Buffer;
  let app: Buffer;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-archive-'));
    base = await tarBytes([dir('bin'), file('bin/tool', '#!/bin/sh\necho tool\n', 0o755), dir('etc'), file('etc/os', 'base\n')]);
    app = await tarBytes([dir('app'), file('app/main', 'main\n'), symlink('app/os', '/etc/os')]);
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  const service = (name: string): { images: ImageService; store: ImageStore } => {
    const imageDir = path.join(work, name);
    return { images: createImageService({ imageDir, runtime: noRuntime }), store: new ImageStore(imageDir) };
  };

  /** `docker save` as Docker < 25 writes it: <id>/layer.tar, <config hex>.json; a second image links the shared layer. */
  function dockerSaveOld(): string {
    const root = fs.mkdtempSync(path.join(work, 'save-old-'));
    const config = imageConfig([base, app]);
    const configHex = sha256(config).slice(7);
    fs.mkdirSync(path.join(root, 'aaa'));
    fs.mkdirSync(path.join(root, 'bbb'));
    fs.mkdirSync(path.join(root, 'ccc'));
    fs.writeFileSync(path.join(root, 'aaa/layer.tar'), base);
    fs.writeFileSync(path.join(root, 'bbb/layer.tar'), app);
    fs.symlinkSync('../aaa/layer.tar', path.join(root, 'ccc/layer.tar'));
    fs.writeFileSync(path.join(root, `${configHex}.json`), config);
    const baseOnly = imageConfig([base], ['true']);
    fs.writeFileSync(path.join(root, `${sha256(baseOnly).slice(7)}.json`), baseOnly);
    fs.writeFileSync(path.join(root, 'manifest.json'), JSON.stringify([
      { Config: `${configHex}.json`, RepoTags: ['docker.io/library/app:1', 'app:latest'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] },
      { Config: `${sha256(baseOnly).slice(7)}.json`, RepoTags: ['base:1'], Layers: ['ccc/layer.tar'] },
    ]));
    const archive = path.join(work, 'old-save.tar');
    execFileSync('tar', ['-cf', archive, '-C', root, '.']);
    return archive;
  }

  /** `docker save` with blobs/sha256 (Docker 25+), without index.json: the docker path reads manifest.json. */
  function dockerSaveBlobs(): string {
    const root = fs.mkdtempSync(path.join(work, 'save-new-'));
    const config = imageConfig([base, app]);
    fs.mkdirSync(path.join(root, 'blobs/sha256'), { recursive: true });
    for (const blob of [config, base, app]) fs.writeFileSync(path.join(root, 'blobs/sha256', sha256(blob).slice(7)), blob);
    const member = (b: Buffer) => `blobs/sha256/${sha256(b).slice(7)}`;
    fs.writeFileSync(path.join(root, 'manifest.json'), JSON.stringify([{ Config: member(config), RepoTags: ['newapp:2'], Layers: [member(base), member(app)] }]));
    const archive = path.join(work, 'new-save.tar');
    execFileSync('tar', ['-czf', archive, '-C', root, 'manifest.json', 'blobs']);
    return archive;
  }

  it('imports an OCI image layout with a nested index and gzip layers', async () => {
    const { images, store } = service('oci');
    const archive = writeTemp(work, 'oci.tar', await ociArchive([base, app], { 'io.containerd.image.name': 'docker.io/library/web:3' }));
    const [info] = await images.importArchive(archive);
    assert.equal(info.ref, 'web:3');
    assert.equal(info.id, sha256(imageConfig([base, app])), 'the image ID is the config digest');
    assert.deepEqual(info.layers, [sha256(base), sha256(app)]);
    const resolved = await store.resolve('web:3');
    assert.equal(fs.readFileSync(path.join(resolved.layerDirs[1], 'app/main'), 'utf8'), 'main\n');
    assert.deepEqual(resolved.config, { env: { PATH: '/bin' }, cmd: ['sh'] });
    assert.deepEqual((await images.list()).map((i) => i.ref), ['web:3']);
  });

  it('names an OCI image by ref.name, with the archive naming it when ref.name is only a tag', async () => {
    const { images } = service('oci-refname');
    const archive = writeTemp(work, 'myimage.tar', await ociArchive([base], { 'org.opencontainers.image.ref.name': 'v1' }));
    assert.deepEqual((await images.importArchive(archive)).map((i) => i.ref), ['myimage:v1']);
  });

  it('imports a docker save archive (old layout, made by GNU tar, layers linked between images)', async () => {
    const { images, store } = service('docker-old');
    const infos = await images.importArchive(dockerSaveOld());
    assert.deepEqual(infos.map((i) => i.ref).sort(), ['app:1', 'app:latest', 'base:1']);
    const app1 = infos.find((i) => i.ref === 'app:1')!;
    assert.equal(app1.id, sha256(imageConfig([base, app])));
    const [appBase] = (await store.resolve('app:1')).layerDirs;
    const [baseBase] = (await store.resolve('base:1')).layerDirs;
    assert.equal(appBase, baseBase, 'one unpacked copy of the shared layer');
    assert.equal(fs.readFileSync(path.join(appBase, 'bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
  });

  it('imports a docker save archive with blobs/ (gzip-compressed archive)', async () => {
    const { images } = service('docker-new');
    const [info] = await images.importArchive(dockerSaveBlobs());
    assert.equal(info.ref, 'newapp:2');
    assert.deepEqual(info.layers, [sha256(base), sha256(app)]);
  });

  it('exports an image that imports back with the same ID and layers, byte for byte the same', async () => {
    const { images } = service('roundtrip-a');
    const [original] = await images.importArchive(writeTemp(work, 'rt.tar', await ociArchive([base, app], { 'io.containerd.image.name': 'rt:1' })));
    const exported = path.join(work, 'exported.tar');
    await new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(exported);
      out.on('error', reject);
      images.exportArchive('rt:1', out).then(() => out.end(resolve), reject);
    });
    const { images: other, store: otherStore } = service('roundtrip-b');
    const [again] = await other.importArchive(exported);
    assert.deepEqual(again, original);
    const record = (await otherStore.record('rt:1'))!;
    const source = (await new ImageStore(path.join(work, 'roundtrip-a')).record('rt:1'))!;
    assert.equal(record.manifest, source.manifest, 'same manifest digest');
    assert.deepEqual(record.layers.map((l) => l.blob), source.layers.map((l) => l.blob), 'the stored (compressed) blobs are exported as they are');
  });

  it('removes a tag, then collects the layers and blobs no other image uses', async () => {
    const { images, store } = service('gc');
    await images.importArchive(dockerSaveOld());
    const appLayer = store.layerDir(sha256(app));
    const baseLayer = store.layerDir(sha256(base));
    await images.remove('app:1');
    assert.ok(fs.existsSync(appLayer), 'app:latest still uses it');
    await images.remove('app:latest');
    assert.ok(!fs.existsSync(appLayer), 'collected');
    assert.ok(!fs.existsSync(store.blobPath(sha256(imageConfig([base, app])))), 'its config blob too');
    assert.ok(fs.existsSync(baseLayer), 'base:1 still uses the shared layer');
    await assert.rejects(images.remove('app:1'), /image "app:1" not found on this node/);
    await images.remove('base:1');
    assert.deepEqual(fs.readdirSync(path.join(store.imageDir, 'layers/sha256')), []);
    assert.deepEqual(fs.readdirSync(path.join(store.imageDir, 'blobs/sha256')), []);
  });

  it('refuses an archive with a corrupt layer and keeps nothing of it', async () => {
    const { images, store } = service('corrupt');
    const archive = writeTemp(work, 'corrupt.tar', await ociArchive([base, app], { 'io.containerd.image.name': 'bad:1' }, { corruptLayer: 1 }));
    await assert.rejects(images.importArchive(archive), /corrupt.tar: layer "blobs\/sha256\/[0-9a-f]{64}": digest mismatch/);
    assert.deepEqual(await images.list(), []);
    assert.deepEqual(fs.readdirSync(path.join(store.imageDir, 'layers/sha256')), [], 'the good first layer is collected again');
    assert.deepEqual(fs.readdirSync(path.join(store.imageDir, 'blobs/sha256')), []);
  });

  it('refuses archives with unsafe members or that are no image archive', async () => {
    const { images } = service('unsafe');
    const escaping = writeTemp(work, 'escape.tar', await tarBytes([file('../index.json', '{}')]));
    await assert.rejects(images.importArchive(escaping), /escape.tar: member "\.\.\/index.json" refused: path escapes the layer/);
    const device = writeTemp(work, 'device.tar', await tarBytes([{ name: 'index.json', type: 'chardev', mode: 0o600 }]));
    await assert.rejects(images.importArchive(device), /device.tar: member "index.json" is a chardev/);
    const other = writeTemp(work, 'other.tar', await tarBytes([file('README', 'hi')]));
    await assert.rejects(images.importArchive(other), /other.tar: neither an OCI image layout \(index.json\) nor a docker save archive/);
  });

  it('lets several agents import the same archive into one image dir at once', async () => {
    const archive = writeTemp(work, 'shared.tar', await ociArchive([base, app], { 'io.containerd.image.name': 'shared:1' }));
    const imports = [1, 2, 3].map(() => createImageService({ imageDir: path.join(work, 'shared'), runtime: noRuntime }).importArchive(archive));
    const results = await Promise.all(imports);
    assert.deepEqual(new Set(results.map(([info]) => info.id)).size, 1);
    const store = new ImageStore(path.join(work, 'shared'));
    assert.deepEqual(fs.readdirSync(path.join(store.imageDir, 'layers/sha256')).filter((n) => !n.endsWith('.json')).length, 2);
    assert.deepEqual(fs.readdirSync(path.join(store.imageDir, 'tmp')), [], 'no staging left');
    await store.resolve('shared:1');
  });
});
