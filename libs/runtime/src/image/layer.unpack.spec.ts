/**
 * Layer unpacking on the real filesystem: what a layer holds arrives with its metadata, whiteouts
 * become overlay whiteouts, and every unsafe layer is refused with the entry named and nothing left
 * in the store.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { linuxSys } from '@tide/syscall';
import { ImageStore } from './image.store';
import { ImageError } from './image.types';
import { TestEntry, dir, file, symlink, tarBytes } from './image.testing';
import { sha256 } from './oci';

/** Every file under a directory (empty directories are no content). */
function contents(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => path.join(e.parentPath, e.name));
}

describe('layer unpacking', () => {
  let work: string;
  let store: ImageStore;
  const outside = () => path.join(work, 'outside');

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-unpack-'));
    fs.mkdirSync(outside());
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  const freshStore = () => (store = new ImageStore(fs.mkdtempSync(path.join(work, 'images-'))));
  const input = (data: Buffer) => {
    const target = path.join(work, `layer-${Math.random().toString(36).slice(2)}.tar`);
    fs.writeFileSync(target, data);
    return target;
  };

  it('unpacks files, directories, symlinks, hard links with their modes, owners and times', async () => {
    freshStore();
    const tar = await tarBytes([
      dir('./'), dir('etc', 0o750), { ...file('etc/conf', 'hello\n', 0o4755), uid: 1000, gid: 2000, mtime: 1_600_000_000 },
      symlink('etc/link', '/etc/conf'), { name: 'etc/hard', type: 'hardlink', mode: 0, linkname: './etc/conf' },
      { ...dir('opt', 0o700), mtime: 1_500_000_000 }, file('opt/deep/file', 'x'), { name: 'pipe', type: 'fifo', mode: 0o600 },
    ]);
    const layer = await store.addLayer(input(gzipSync(tar)), { diffID: sha256(tar) }, 'test layer');
    assert.equal(layer.diffID, sha256(tar), 'diffID = sha256 of the uncompressed tar');
    assert.notEqual(layer.blob, layer.diffID, 'the blob is kept compressed, as imported');
    assert.ok(fs.existsSync(store.blobPath(layer.blob)));
    const root = store.layerDir(layer.diffID);
    const conf = fs.statSync(path.join(root, 'etc/conf'));
    assert.equal(fs.readFileSync(path.join(root, 'etc/conf'), 'utf8'), 'hello\n');
    assert.equal(conf.mode & 0o7777, 0o4755, 'setuid survives the chown');
    assert.deepEqual([conf.uid, conf.gid, conf.mtimeMs / 1000], [1000, 2000, 1_600_000_000]);
    assert.equal(fs.statSync(path.join(root, 'etc')).mode & 0o777, 0o750);
    assert.equal(fs.readlinkSync(path.join(root, 'etc/link')), '/etc/conf', 'symlinks are kept, not resolved');
    assert.equal(fs.statSync(path.join(root, 'etc/hard')).ino, conf.ino);
    assert.equal(fs.statSync(path.join(root, 'opt')).mtimeMs / 1000, 1_500_000_000, 'directory times survive their children');
    assert.ok(fs.statSync(path.join(root, 'opt/deep')).isDirectory(), 'missing parents are created');
    assert.ok(fs.statSync(path.join(root, 'pipe')).isFIFO());
    assert.equal(layer.size, 'hello\n'.length + 1);
  });

  it('turns OCI whiteouts into overlay whiteouts and opaque directories', async () => {
    freshStore();
    const tar = await tarBytes([dir('data'), file('data/.wh.gone', ''), dir('opq'), file('opq/.wh..wh..opq', ''), file('opq/new', 'n'), file('.wh..wh.plnk', '')]);
    const layer = await store.addLayer(input(tar), {}, 'test layer');
    const root = store.layerDir(layer.diffID);
    const whiteout = fs.statSync(path.join(root, 'data/gone'));
    assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'char device 0/0');
    assert.equal(linuxSys().lgetxattr(path.join(root, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(fs.readdirSync(path.join(root, 'opq')), ['new'], 'no .wh. entries stay in the layer');
    assert.ok(!fs.existsSync(path.join(root, '.wh..wh.plnk')));
  });

  const refusals: { name: string; entries: TestEntry[]; error: RegExp }[] = [
    { name: 'an absolute path', entries: [file('/etc/tide-abs', 'x')], error: /"\/etc\/tide-abs" refused: absolute path/ },
    { name: 'a path climbing out', entries: [file('../escape', 'x')], error: /"\.\.\/escape" refused: path escapes the layer/ },
    { name: 'a path climbing out after a directory', entries: [dir('a'), file('a/../../escape', 'x')], error: /"a\/\.\.\/\.\.\/escape" refused/ },
    { name: 'a write through a symlink to an absolute dir', entries: [symlink('a', '/etc'), file('a/tide-pwned', 'x')], error: /"a\/tide-pwned" refused: it would be written through the symlink "a"/ },
    { name: 'a write through a symlink climbing up', entries: [symlink('a', '../..'), file('a/tide-pwned', 'x')], error: /"a\/tide-pwned" refused: it would be written through the symlink "a"/ },
    { name: 'a whiteout through a symlink', entries: [symlink('a', '/etc'), file('a/.wh.passwd', '')], error: /"a\/\.wh\.passwd" refused: it would be written through the symlink "a"/ },
    { name: 'a hard link climbing out', entries: [{ name: 'h', type: 'hardlink', mode: 0, linkname: '../../etc/passwd' }], error: /"h" refused: hard link target "\.\.\/\.\.\/etc\/passwd" is outside the layer/ },
    { name: 'a hard link to an absolute path', entries: [{ name: 'h', type: 'hardlink', mode: 0, linkname: '/etc/passwd' }], error: /"h" refused: hard link target "\/etc\/passwd" is outside the layer/ },
    { name: 'a hard link to a file of another layer', entries: [{ name: 'h', type: 'hardlink', mode: 0, linkname: 'bin/sh' }], error: /"h" refused: hard link target "bin\/sh" is not an entry of this layer/ },
    { name: 'a device node', entries: [file('ok', 'x'), { name: 'dev/sda', type: 'blockdev', mode: 0o600 }], error: /"dev\/sda" refused: device nodes are not allowed/ },
  ];
  for (const { name, entries, error } of refusals) {
    it(`refuses ${name} and leaves nothing behind`, async () => {
      freshStore();
      const passwd = fs.readFileSync('/etc/passwd');
      await assert.rejects(store.addLayer(input(await tarBytes(entries)), {}, 'crafted layer'), (e: unknown) => {
        assert.ok(e instanceof ImageError, String(e));
        assert.match(e.message, error);
        return true;
      });
      assert.deepEqual(contents(store.imageDir), [], 'no layer, blob or staging file left');
      assert.ok(!fs.existsSync('/etc/tide-pwned') && !fs.existsSync('/etc/tide-abs'));
      assert.deepEqual(fs.readFileSync('/etc/passwd'), passwd);
    });
  }

  it('refuses a layer whose content does not match its digests', async () => {
    freshStore();
    const tar = await tarBytes([file('a', 'x')]);
    await assert.rejects(store.addLayer(input(tar), { diffID: sha256('something else') }, 'layer L'), /layer L: diffID mismatch: the config says sha256:[0-9a-f]{64}, the uncompressed layer has sha256:/);
    const gz = gzipSync(tar);
    await assert.rejects(store.addLayer(input(gz), { blobDigest: sha256('x') }, 'layer L'), /layer L: digest mismatch/);
    assert.deepEqual(contents(store.imageDir), []);
  });

  it('refuses truncated and corrupt archives', async () => {
    freshStore();
    const tar = await tarBytes([file('a', 'x'.repeat(5000)), file('b', 'y')]);
    await assert.rejects(store.addLayer(input(tar.subarray(0, 2048)), {}, 'cut'), /cut: truncated archive: entry "a" ends early/);
    await assert.rejects(store.addLayer(input(tar.subarray(0, 6656)), {}, 'cut'), /cut: truncated archive: it ends at byte 6656 without the end-of-archive marker/);
    const gz = gzipSync(tar);
    await assert.rejects(store.addLayer(input(gz.subarray(0, gz.length - 10)), {}, 'gz'), /gz: corrupt layer: unexpected end of file/);
    const flipped = Buffer.from(tar);
    flipped[10] ^= 0xff;
    await assert.rejects(store.addLayer(input(flipped), {}, 'bad'), /bad: corrupt archive: bad header checksum at byte 0/);
    assert.deepEqual(contents(store.imageDir), []);
  });
});
