/**
 * The harness's teardown steps: a step that never ends must not hold a test file until its deadline.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyAsFarAsItGoes, teardownStep, waitFor } from './harness';

describe('teardownStep', () => {
  it('answers what the step answers when it ends in time', async () => {
    assert.equal(await teardownStep('a quick step', 5, async () => 'done', 'given up'), 'done');
    assert.equal(await teardownStep('a sync step', 5, () => 42, -1), 42);
  });

  it('gives up on a step that never ends, answering the given value', async () => {
    const never = () => new Promise<string>(() => undefined);
    assert.equal(await teardownStep('a hung step', 0.2, never, 'given up'), 'given up');
  });

  it('passes a step\'s failure on', async () => {
    await assert.rejects(teardownStep('a failing step', 5, async () => {
      throw new Error('no such file');
    }, undefined), /no such file/);
  });
});

describe('copyAsFarAsItGoes', () => {
  it('copies a file, an empty one too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-copy-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.log'), 'one\ntwo\n');
      fs.writeFileSync(path.join(dir, 'empty.log'), '');
      await copyAsFarAsItGoes(path.join(dir, 'a.log'), path.join(dir, 'a.copy'));
      await copyAsFarAsItGoes(path.join(dir, 'empty.log'), path.join(dir, 'empty.copy'));
      assert.equal(fs.readFileSync(path.join(dir, 'a.copy'), 'utf8'), 'one\ntwo\n');
      assert.equal(fs.readFileSync(path.join(dir, 'empty.copy'), 'utf8'), '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // fs.copyFile spins forever here (and keeps the process from exiting): the test would never end.
  it('ends with what is left when the file is truncated while it is copied', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-copy-'));
    const [from, to] = [path.join(dir, 'flood.log'), path.join(dir, 'flood.copy')];
    try {
      const size = 256 * 1024 * 1024;
      fs.writeFileSync(from, Buffer.alloc(size, 'a'));
      const copied = copyAsFarAsItGoes(from, to);
      await waitFor('the copy to begin', async () => fs.existsSync(to) && fs.statSync(to).size > 0, 60_000, 1);
      fs.truncateSync(from, 0);
      await copied;
      const kept = fs.statSync(to).size;
      assert.ok(kept <= size, `copied ${kept} bytes of ${size}`);
      const head = Buffer.alloc(Math.min(kept, 4096));
      const fd = fs.openSync(to, 'r');
      fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      assert.ok(head.every((byte) => byte === 'a'.charCodeAt(0)), 'the copy is a prefix of the file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
