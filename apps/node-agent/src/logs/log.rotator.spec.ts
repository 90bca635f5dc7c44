import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { LogFiles } from './log.files';
import { endPosition, laterPosition, streamLogFiles, tailPosition } from './log.read';
import type { LogPosition } from './log.rotator';
import { LogRotator } from './log.rotator';

const ID = 'shop.web-1';
const made: string[] = [];
const tmp = () => {
  made.push(fs.mkdtempSync(path.join(os.tmpdir(), 'tide-logs-')));
  return made[made.length - 1];
};
after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

async function read(files: string[], from = { file: 0, offset: 0 }, until?: LogPosition): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await streamLogFiles(files, from, out, { follow: false, signal: new AbortController().signal, until });
  return Buffer.concat(chunks).toString();
}

describe('container logs: rotation, instances, tail and since', () => {
  it('rotates past the maximum size, keeps at most maxFiles files of at most maxSize bytes, newest last', () => {
    const dir = tmp();
    const rotator = new LogRotator(new LogFiles(dir, { maxSizeBytes: 100, maxFiles: 3 }), () => [ID]);
    const current = rotator.files.path(ID);
    // O_APPEND, as the container's init opens it: writes after a truncation land at the start.
    const fd = fs.openSync(current, 'a');
    for (let i = 0; i < 50; i++) {
      fs.writeSync(fd, `line ${i}\n`.padEnd(30, '.')); // 30 bytes
      rotator.check();
    }
    fs.closeSync(fd);
    const files = rotator.files.existing(ID);
    assert.deepEqual(files.map((f) => path.basename(f)), [`${ID}.log.2`, `${ID}.log.1`, `${ID}.log`]);
    for (const file of files) assert.ok(fs.statSync(file).size <= 120, `${file}: at most the maximum plus one check's writes`);
    assert.match(fs.readFileSync(current, 'utf8'), /line 49/);
    assert.doesNotMatch(files.map((f) => fs.readFileSync(f, 'utf8')).join(''), /line 0\n/, 'the oldest output is gone');
  });

  it('between full passes, checks the files the directory\'s watch saw written', async () => {
    const dir = tmp();
    // The clock stands still: after the first tick's full pass no other comes, only the watch's checks.
    const rotator = new LogRotator(new LogFiles(dir, { maxSizeBytes: 100, maxFiles: 3 }), () => [ID], () => undefined, () => 1_000);
    rotator.start(20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the first tick: a full pass
      fs.appendFileSync(rotator.files.path(ID), 'y'.repeat(300));
      const deadline = Date.now() + 30_000;
      while (rotator.files.existing(ID).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(rotator.files.existing(ID).map((f) => path.basename(f)), [`${ID}.log.1`, `${ID}.log`], 'rotated on the watch\'s word');
    } finally {
      rotator.stop();
    }
  });

  it('makes its full passes rarer while they find nothing the watch missed, and frequent again when one does', () => {
    const dir = tmp();
    const rotator = new LogRotator(new LogFiles(dir, { maxSizeBytes: 1000, maxFiles: 3 }), () => [ID]);
    fs.appendFileSync(rotator.files.path(ID), 'x');
    rotator.check(); // not started: no watch said it was written, so the pass found a file the watch missed
    assert.equal(rotator.fullPassPeriodMs, 10_000);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      rotator.check();
      periods.push(rotator.fullPassPeriodMs);
    }
    assert.deepEqual(periods, [20_000, 40_000, 60_000, 60_000], 'nothing grew: doubled each time, up to a minute');
    fs.appendFileSync(rotator.files.path(ID), 'y');
    rotator.check();
    assert.equal(rotator.fullPassPeriodMs, 10_000, 'a file grew unseen: back to every 10 s');
  });

  it('copies only the last maxSize bytes of a file that grew far past it (a flood between two checks)', () => {
    const dir = tmp();
    const files = new LogFiles(dir, { maxSizeBytes: 10, maxFiles: 2 });
    fs.writeFileSync(files.path(ID), lines(1, 100));
    assert.equal(files.rotate(ID), fs.statSync(`${files.path(ID)}.1`).size === 10 ? lines(1, 100).length - 10 : -1);
    assert.equal(fs.readFileSync(`${files.path(ID)}.1`, 'utf8'), 'line 100\n'.padStart(10, '\n').slice(-10));
    assert.equal(fs.statSync(files.path(ID)).size, 0);
  });

  it('moves the current container\'s files to the previous instance when a new one starts, and forgets them all', () => {
    const dir = tmp();
    const rotator = new LogRotator(new LogFiles(dir, { maxSizeBytes: 100, maxFiles: 3 }), () => [ID]);
    fs.writeFileSync(rotator.files.path(ID), 'first container\n');
    fs.writeFileSync(`${rotator.files.path(ID)}.1`, 'its older output\n');
    rotator.retire(ID);
    assert.deepEqual(rotator.files.existing(ID), []);
    assert.deepEqual(rotator.files.existing(ID, 'previous').map((f) => fs.readFileSync(f, 'utf8')), ['its older output\n', 'first container\n']);
    fs.writeFileSync(rotator.files.path(ID), 'second container\n');
    rotator.retire(ID);
    assert.deepEqual(rotator.files.existing(ID, 'previous').map((f) => fs.readFileSync(f, 'utf8')), ['second container\n'], 'only the last one is kept');
    rotator.forget(ID);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('finds the start of the last N lines across files, without a trailing newline counting as a line', async () => {
    const dir = tmp();
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    fs.writeFileSync(a, lines(1, 5));
    fs.writeFileSync(b, lines(6, 7));
    assert.equal(await read([a, b], await tailPosition([a, b], 3)), lines(5, 7));
    assert.equal(await read([a, b], await tailPosition([a, b], 2)), lines(6, 7));
    assert.equal(await read([a, b], await tailPosition([a, b], 100)), lines(1, 7));
    assert.equal(await read([a, b], await tailPosition([a, b], 0)), '');
    fs.writeFileSync(b, `${lines(6, 7)}partial`);
    assert.equal(await read([a, b], await tailPosition([a, b], 1)), 'partial', 'a line still being written is the last one');
  });

  it('reads the lines there were when asked: later lines are not added, a line cut at that moment is read to its end', async () => {
    const dir = tmp();
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    fs.writeFileSync(a, lines(1, 5));
    fs.writeFileSync(b, `${lines(6, 7)}line 8 cut`);
    const until = await endPosition([a, b]);
    const last = await tailPosition([a, b], 1, until);
    const two = await tailPosition([a, b], 2, until);
    fs.appendFileSync(b, ` here\n${lines(9, 20)}`); // the flood goes on meanwhile
    assert.equal(await read([a, b], last, until), 'line 8 cut here\n');
    assert.equal(await read([a, b], two, until), 'line 7\nline 8 cut here\n');
    assert.equal(await read([a, b], { file: 0, offset: 0 }, { file: 0, offset: lines(1, 2).length }), lines(1, 2), 'an end in an earlier file stops there');
    assert.equal(await read([a, b], { file: 1, offset: 0 }, { file: 1, offset: 0 }), '', 'nothing between the same two positions');
  });

  it('starts --since at the last mark before the time asked for, across a rotation', async () => {
    const dir = tmp();
    let now = 1_000;
    const rotator = new LogRotator(new LogFiles(dir, { maxSizeBytes: 40, maxFiles: 3 }), () => [ID], () => undefined, () => now);
    const fd = fs.openSync(rotator.files.path(ID), 'a');
    const write = (text: string) => {
      fs.writeSync(fd, text);
      rotator.check();
      now += 1000;
    };
    write(lines(1, 2)); // t=1000, 14 bytes
    write(lines(3, 4)); // t=2000, 28
    write(lines(5, 6)); // t=3000, 42: rotated
    write(lines(7, 8)); // t=4000, into the new file
    fs.closeSync(fd);
    const files = rotator.files.existing(ID);
    const since = (ms: number) => read(files, rotator.since(ID, 'current', ms));
    assert.equal(await since(500), lines(1, 8), 'before the first mark: everything kept');
    assert.equal(await since(2500), lines(5, 8), 'after the mark at 2000');
    assert.equal(await since(3500), lines(7, 8), 'the rotated-away file is skipped');
    assert.equal(await since(10_000), '', 'nothing written since');
    assert.deepEqual(laterPosition({ file: 1, offset: 0 }, { file: 0, offset: 99 }), { file: 1, offset: 0 });
  });
});
