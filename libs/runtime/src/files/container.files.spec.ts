/**
 * Copying files in and out of a container: path checks, resolution that stays inside the root (a
 * temporary directory plays the container's /proc/PID/root), and the archives both ways.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDirectoryMode, isSymlinkMode } from '@tide/api';
import { linuxSys } from '@tide/syscall';
import { ByteSource, TarEntry, TarError, TarWriter, readTar } from '@tide/tar';
import { FilesError, containerPath, entryParts } from './container.path';
import { ContainerRoot } from './container.root';
import { archivePath } from './root.archive';
import { extractInto } from './root.extract';

describe('containerPath', () => {
  const cases: Array<[string, { path: string; parent: string; base: string; entryName: string }]> = [
    ['/etc/hostname', { path: '/etc/hostname', parent: '/etc', base: 'hostname', entryName: 'hostname' }],
    ['etc/hostname', { path: '/etc/hostname', parent: '/etc', base: 'hostname', entryName: 'hostname' }], // from the root, as docker cp
    ['/srv/data/', { path: '/srv/data', parent: '/srv', base: 'data', entryName: 'data' }],
    ['/srv/data/.', { path: '/srv/data', parent: '/srv', base: 'data', entryName: '.' }], // the contents only
    ['/srv/a/../b', { path: '/srv/b', parent: '/srv', base: 'b', entryName: 'b' }],
    ['/', { path: '/', parent: '/', base: '.', entryName: '.' }],
  ];
  for (const [input, expected] of cases) it(`"${input}"`, () => assert.deepEqual(containerPath(input), expected));

  it('refuses a path that climbs above the root', () => {
    for (const input of ['/../etc/passwd', '../../etc', 'srv/../../x']) {
      assert.throws(() => containerPath(input), (e: Error) => e instanceof FilesError && e.code === 'Invalid' && /climbs above the container's root/.test(e.message), input);
    }
  });
});

describe('entryParts', () => {
  it('takes names below the destination', () => {
    assert.deepEqual(entryParts('./a/b'), ['a', 'b']);
    assert.deepEqual(entryParts('/abs/x'), ['abs', 'x']);
    assert.deepEqual(entryParts('a/../b'), ['b']);
    assert.deepEqual(entryParts('./'), []);
  });
  it('refuses names that leave it', () => {
    for (const name of ['../x', 'a/../../x']) assert.throws(() => entryParts(name), TarError, name);
  });
});

describe('ContainerRoot', () => {
  let tmp: string;
  let rootDir: string;
  let outside: string;
  let root: ContainerRoot;
  const sys = linuxSys();

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-files-'));
    rootDir = path.join(tmp, 'root');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'host secret\n');
    fs.mkdirSync(path.join(rootDir, 'dir/sub'), { recursive: true });
    fs.writeFileSync(path.join(rootDir, 'dir/a'), 'alpha\n');
    fs.writeFileSync(path.join(rootDir, 'dir/sub/b'), 'beta\n');
    fs.symlinkSync('a', path.join(rootDir, 'dir/l'));
    fs.symlinkSync('/dir/l', path.join(rootDir, 'chain'));
    // Both lead to tmp/outside from the host's point of view; inside the root they lead nowhere.
    fs.symlinkSync('../../../../../outside', path.join(rootDir, 'up'));
    fs.symlinkSync(outside, path.join(rootDir, 'abs'));
    root = ContainerRoot.open(sys, rootDir, 'container test');
  });
  after(() => {
    root.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('stats a path without following its last symlink, and says where the link leads', () => {
    const dir = root.stat(containerPath('/dir'));
    assert.ok(isDirectoryMode(dir.mode));
    assert.equal(dir.name, 'dir');
    const chain = root.stat(containerPath('/chain'));
    assert.ok(isSymlinkMode(chain.mode));
    assert.equal(chain.linkTarget, '/dir/a');
  });

  it('resolves symlinks that point out of the root inside it: the host file is not found', () => {
    for (const p of ['/up/secret', '/abs/secret']) {
      assert.throws(() => root.stat(containerPath(p)), (e: Error) => e instanceof FilesError && e.code === 'NotFound', p);
      assert.throws(() => root.open(p), (e: Error) => e instanceof FilesError && e.code === 'NotFound', p);
    }
  });

  it('archives a directory under its name, or its contents under "."', async () => {
    assert.deepEqual(await names(root, '/dir'), ['dir/', 'dir/a', 'dir/l', 'dir/sub/', 'dir/sub/b']);
    assert.deepEqual(await names(root, '/dir/.'), ['./', 'a', 'l', 'sub/', 'sub/b']);
    const entries = await archived(root, '/dir/a');
    assert.equal(entries[0].name, 'a');
    assert.equal(entries[0].content, 'alpha\n');
    assert.equal((await archived(root, '/dir/l'))[0].linkname, 'a');
  });

  it('extracts an archive into a directory, parents made, symlinks kept', async () => {
    fs.mkdirSync(path.join(rootDir, 'target'));
    const count = await extractInto(root, '/target', tarOf([
      { name: 'x/y/file', type: 'file', mode: 0o640, body: 'hello\n', mtime: 1_700_000_000 },
      { name: 'x/link', type: 'symlink', mode: 0o777, linkname: 'y/file' },
    ]), { keepOwners: false });
    assert.equal(count, 2);
    assert.equal(fs.readFileSync(path.join(rootDir, 'target/x/y/file'), 'utf8'), 'hello\n');
    assert.equal(fs.statSync(path.join(rootDir, 'target/x/y/file')).mode & 0o777, 0o640);
    assert.equal(fs.statSync(path.join(rootDir, 'target/x/y/file')).mtimeMs, 1_700_000_000_000);
    assert.equal(fs.readlinkSync(path.join(rootDir, 'target/x/link')), 'y/file');
  });

  it('never writes through a symlink out of the root, and refuses names leaving the directory', async () => {
    await assert.rejects(extractInto(root, '/', tarOf([{ name: 'up/planted', type: 'file', mode: 0o644, body: 'x' }]), { keepOwners: false }), FilesError);
    await assert.rejects(extractInto(root, '/', tarOf([{ name: 'abs/planted', type: 'file', mode: 0o644, body: 'x' }]), { keepOwners: false }), FilesError);
    await assert.rejects(extractInto(root, '/dir', tarOf([{ name: '../../planted', type: 'file', mode: 0o644, body: 'x' }]), { keepOwners: false }), TarError);
    // A link the archive itself makes first, then an entry under it: still inside the root.
    await extractInto(root, '/dir', tarOf([
      { name: 'esc', type: 'symlink', mode: 0o777, linkname: outside },
      { name: 'esc/planted', type: 'file', mode: 0o644, body: 'x' },
    ]), { keepOwners: false }).catch(() => undefined);
    assert.deepEqual(fs.readdirSync(outside), ['secret']);
    assert.ok(!fs.existsSync(path.join(tmp, 'planted')));
  });

  it('refuses to replace a directory with a file', async () => {
    await assert.rejects(extractInto(root, '/', tarOf([{ name: 'dir', type: 'file', mode: 0o644, body: 'x' }]), { keepOwners: false }), /cannot overwrite directory \/dir/);
  });
});

interface Archived {
  name: string;
  content: string;
  linkname: string;
}

async function archived(root: ContainerRoot, p: string): Promise<Archived[]> {
  const chunks: Buffer[] = [];
  await archivePath(root, containerPath(p), async (chunk) => void chunks.push(Buffer.from(chunk)));
  const out: Archived[] = [];
  for await (const entry of readTar(new ByteSource((async function* () { yield Buffer.concat(chunks); })()))) {
    const body: Buffer[] = [];
    for await (const piece of entry.body) body.push(piece);
    out.push({ name: entry.name, content: Buffer.concat(body).toString(), linkname: entry.linkname });
  }
  return out;
}

async function names(root: ContainerRoot, p: string): Promise<string[]> {
  return (await archived(root, p)).map((e) => e.name);
}

interface TestEntry {
  name: string;
  type: 'file' | 'symlink' | 'directory';
  mode: number;
  body?: string;
  linkname?: string;
  mtime?: number;
}

async function* tarOf(entries: TestEntry[]): AsyncGenerator<TarEntry> {
  const chunks: Buffer[] = [];
  const writer = new TarWriter(async (chunk) => void chunks.push(Buffer.from(chunk)));
  for (const e of entries) await writer.add({ name: e.name, type: e.type, mode: e.mode, mtime: e.mtime ?? 0, ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body === undefined ? undefined : Buffer.from(e.body));
  await writer.finish();
  yield* readTar(new ByteSource((async function* () { yield Buffer.concat(chunks); })()));
}
