import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeAtomicDir } from './atomic.dir';

const file = (p: string, text: string, mode = 0o644) => ({ path: p, data: Buffer.from(text), mode });

function withDir(test: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-atomic-'));
  try {
    test(path.join(dir, 'vol'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('writeAtomicDir (kubelet\'s ..data swap)', () => {
  it('shows each file through ..data, with its mode', () => {
    withDir((dir) => {
      assert.equal(writeAtomicDir(dir, [file('app.conf', 'a=1'), file('tls/key', 'k', 0o400)]), true);
      assert.equal(fs.readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'a=1');
      assert.equal(fs.readlinkSync(path.join(dir, 'app.conf')), '..data/app.conf');
      assert.equal(fs.statSync(path.join(dir, 'tls/key')).mode & 0o777, 0o400);
      assert.match(fs.readlinkSync(path.join(dir, '..data')), /^\.\.\d{4}_/);
    });
  });

  it('swaps to the new set: the old hidden directory and names no longer in it go', () => {
    withDir((dir) => {
      writeAtomicDir(dir, [file('app.conf', 'a=1'), file('old', 'x')]);
      const first = fs.readlinkSync(path.join(dir, '..data'));
      const held = fs.openSync(path.join(dir, 'app.conf'), 'r');
      assert.equal(writeAtomicDir(dir, [file('app.conf', 'a=2')]), true);
      assert.equal(fs.readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'a=2');
      assert.equal(fs.readFileSync(held, 'utf8'), 'a=1', 'an open file keeps its content');
      fs.closeSync(held);
      assert.deepEqual(fs.readdirSync(dir).filter((n) => !n.startsWith('..')), ['app.conf']);
      assert.ok(!fs.existsSync(path.join(dir, first)));
    });
  });

  it('writes nothing when the set is what it holds, and refuses a path out of the volume', () => {
    withDir((dir) => {
      writeAtomicDir(dir, [file('a', '1')]);
      const target = fs.readlinkSync(path.join(dir, '..data'));
      assert.equal(writeAtomicDir(dir, [file('a', '1')]), false);
      assert.equal(fs.readlinkSync(path.join(dir, '..data')), target);
      assert.equal(writeAtomicDir(dir, [file('a', '1', 0o600)]), true, 'a mode change is a change');
      assert.throws(() => writeAtomicDir(dir, [file('../escape', 'x')]), /must be relative/);
      assert.throws(() => writeAtomicDir(dir, [file('..data', 'x')]), /must not start with "\.\."/);
    });
  });
});
