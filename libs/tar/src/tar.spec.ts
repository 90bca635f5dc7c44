/** The tar reader and writer against GNU tar: long names in GNU and pax formats, both directions. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ByteSource, batched } from './byte.source';
import { readTar } from './tar.reader';
import { TarWriter, fileSink } from './tar.writer';

const LONG = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(70)}.txt`;

describe('tar', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-tar-'));
    fs.mkdirSync(path.join(dir, 'src', path.dirname(LONG)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', LONG), 'long\n');
    fs.symlinkSync(`../${'x'.repeat(120)}`, path.join(dir, 'src/longlink'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function names(archive: string): Promise<{ name: string; type: string; linkname: string; body: string }[]> {
    const out = [];
    for await (const entry of readTar(new ByteSource(fs.createReadStream(archive)[Symbol.asyncIterator]()))) {
      let body = '';
      for await (const chunk of entry.body) body += chunk.toString();
      out.push({ name: entry.name.replace(/\/$/, ''), type: entry.type, linkname: entry.linkname, body });
    }
    return out;
  }

  for (const format of ['gnu', 'pax']) {
    it(`reads long names and link targets written by GNU tar --format=${format}`, async () => {
      const archive = path.join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', archive, '-C', path.join(dir, 'src'), '.']);
      const entries = await names(archive);
      assert.deepEqual(entries.find((e) => e.name === `./${LONG}`), { name: `./${LONG}`, type: 'file', linkname: '', body: 'long\n' });
      assert.equal(entries.find((e) => e.name === './longlink')?.linkname, `../${'x'.repeat(120)}`);
    });
  }

  it('writes archives GNU tar reads, long names through pax headers', async () => {
    const archive = path.join(dir, 'ours.tar');
    const handle = await fs.promises.open(archive, 'w');
    const tar = new TarWriter(fileSink(handle));
    await tar.add({ name: LONG, type: 'file', mode: 0o640, uid: 7, gid: 8, mtime: 1_000_000_000 }, Buffer.from('hi\n'));
    await tar.add({ name: 'link', type: 'symlink', mode: 0o777, linkname: 'x'.repeat(150) });
    await tar.finish();
    await handle.close();
    const listing = execFileSync('tar', ['-tvf', archive, '--numeric-owner'], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`^-rw-r----- 7/8 +3 2001-09-0\\d \\d\\d:\\d\\d ${LONG}$`, 'm'));
    assert.match(listing, new RegExp(`^lrwxrwxrwx 0/0 .* link -> ${'x'.repeat(150)}$`, 'm'));
    assert.deepEqual((await names(archive)).map((e) => e.name), [LONG, 'link']);
  });

  it('batches small chunks (a download\'s pieces) into large ones, bytes and order kept, a large one passed as it is', async () => {
    const pieces = [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('efghij'), Buffer.from('k')];
    async function* source() {
      yield* pieces;
    }
    const out: Buffer[] = [];
    for await (const chunk of batched(source(), 4)) out.push(chunk);
    assert.deepEqual(out.map((c) => c.toString()), ['abcd', 'efghij', 'k']);
  });
});
