import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isNoSpace, writeFileAtomic } from './atomic.write';

describe('writeFileAtomic', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-atomic-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces the file whole, readable by root only', () => {
    const file = path.join(dir, 'state.json');
    writeFileAtomic(file, '{"a":1}');
    writeFileAtomic(file, '{"a":2}');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"a":2}');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir), ['state.json'], 'no temporary file left');
  });

  it('keeps the previous file whole when the disk is full, and leaves no partial file', () => {
    const file = path.join(dir, 'fence.json');
    writeFileAtomic(file, '{"revision":7}');
    // /dev/full answers every write with ENOSPC: the temporary file "is" a full disk.
    fs.symlinkSync('/dev/full', `${file}.tmp`);
    assert.throws(() => writeFileAtomic(file, `{"revision":8,"pad":"${'x'.repeat(100_000)}"}`), (error: unknown) => isNoSpace(error));
    assert.equal(fs.readFileSync(file, 'utf8'), '{"revision":7}');
    assert.equal(fs.existsSync(`${file}.tmp`), false);
    writeFileAtomic(file, '{"revision":8}');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"revision":8}', 'writes work again once there is room');
  });
});
