import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { tarArchive } from '../testing/tar.builder';
import { TarError, extractTar } from '@tide/tar';

describe('build context unpacking', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-tar-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => {
    const dir = path.join(root, `ctx-${n++}`, 'context');
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  /** Feeds the archive in 100-byte pieces, so headers and bodies straddle chunks. */
  const chunked = (archive: Buffer) => Readable.from(Array.from({ length: Math.ceil(archive.length / 100) }, (_, i) => archive.subarray(i * 100, i * 100 + 100)));

  it('unpacks what GNU tar packed: files, modes, directories, symlinks, hard links, long names', async () => {
    const source = path.join(root, 'source');
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.txt`;
    fs.mkdirSync(path.join(source, 'src', path.dirname(long)), { recursive: true });
    fs.writeFileSync(path.join(source, 'Dockerfile'), 'FROM busybox\n');
    fs.writeFileSync(path.join(source, 'src', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    fs.writeFileSync(path.join(source, 'src', long), 'long');
    fs.symlinkSync('run.sh', path.join(source, 'src', 'link'));
    fs.linkSync(path.join(source, 'Dockerfile'), path.join(source, 'hard'));
    const archive = execFileSync('tar', ['-C', source, '-cf', '-', '.']);
    const dir = fresh();
    await extractTar(chunked(archive), dir);
    assert.equal(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8'), 'FROM busybox\n');
    assert.equal(fs.statSync(path.join(dir, 'src/run.sh')).mode & 0o777, 0o755);
    assert.equal(fs.readFileSync(path.join(dir, 'src', long), 'utf8'), 'long');
    assert.equal(fs.readlinkSync(path.join(dir, 'src/link')), 'run.sh');
    assert.equal(fs.statSync(path.join(dir, 'hard')).ino, fs.statSync(path.join(dir, 'Dockerfile')).ino);
  });

  const refused: { name: string; entries: Parameters<typeof tarArchive>[0]; message: RegExp; outside?: string }[] = [
    { name: 'a ../ entry', entries: [{ name: '../escaped', body: 'x' }], message: /"\.\.\/escaped": "\.\." would leave/, outside: 'escaped' },
    { name: 'an absolute path', entries: [{ name: '/etc/tide-escaped', body: 'x' }], message: /absolute paths are not allowed/ },
    { name: 'a write through its own symlink', entries: [{ name: 'up', type: '2', linkname: '..' }, { name: 'up/escaped', body: 'x' }], message: /"up\/escaped" lies under the symlink "up"/, outside: 'escaped' },
    { name: 'a hard link through a symlink', entries: [{ name: 'etc', type: '2', linkname: '/etc' }, { name: 'pw', type: '1', linkname: 'etc/passwd' }], message: /"pw" lies under the symlink "etc"/ },
    { name: 'a device node', entries: [{ name: 'sda', type: '4' }], message: /"sda": a block device is not allowed/ },
    { name: 'a FIFO', entries: [{ name: 'pipe', type: '6' }], message: /"pipe": a FIFO is not allowed/ },
  ];
  for (const test of refused) {
    it(`refuses ${test.name}, naming the entry`, async () => {
      const dir = fresh();
      await assert.rejects(extractTar(chunked(tarArchive(test.entries)), dir), (error: Error) => error instanceof TarError && test.message.test(error.message));
      if (test.outside) assert.equal(fs.existsSync(path.join(dir, '..', test.outside)), false, 'nothing written outside');
      assert.equal(fs.existsSync('/etc/tide-escaped'), false);
    });
  }

  it('replaces a symlink by a later file of the same name instead of writing through it', async () => {
    const dir = fresh();
    const victim = path.join(path.dirname(dir), 'victim');
    fs.writeFileSync(victim, 'untouched');
    await extractTar(chunked(tarArchive([{ name: 'f', type: '2', linkname: victim }, { name: 'f', body: 'new' }])), dir);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'untouched');
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'new');
  });

  it('says when the input is not a tar archive or stops inside an entry', async () => {
    await assert.rejects(extractTar(Readable.from([Buffer.alloc(512, 'x')]), fresh()), /bad header checksum/);
    const cut = tarArchive([{ name: 'big', body: 'y'.repeat(2000) }]).subarray(0, 1000);
    await assert.rejects(extractTar(Readable.from([cut]), fresh()), /"big" ends early/);
  });
});
