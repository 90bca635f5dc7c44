/** Which mappings a pooled init unmaps before it waits: only clean, read-only file mappings. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { cleanFileMappings } from './clean-pages';

const mapping = (range: string, perms: string, path: string, anonymousKb: number) =>
  `${range} ${perms} 00000000 fe:01 1234${path ? `                      ${path}` : ''}\nSize:                  8 kB\nRss:                   8 kB\nAnonymous:          ${anonymousKb} kB\nLocked:                0 kB\n`;

describe('clean file mappings', () => {
  it('keeps read-only file mappings without anonymous pages, and nothing else', () => {
    const smaps = [
      mapping('00400000-00600000', 'r--p', '/usr/bin/node', 0), // read-only data: dropped
      mapping('00600000-00a00000', 'r-xp', '/usr/bin/node', 0), // code: dropped
      mapping('00a00000-00a10000', 'r--p', '/usr/bin/node', 8), // RELRO, written at relocation: kept
      mapping('00a10000-00a20000', 'rw-p', '/usr/bin/node', 0), // writable data: kept
      mapping('00a20000-00a30000', 'rw-p', '', 64), // the heap, anonymous: kept
      mapping('7f0000000000-7f0000001000', 'r--p', '/usr/lib/libc.so.6 (deleted)', 0), // a library replaced since: dropped
    ].join('');
    assert.deepEqual(cleanFileMappings(smaps), [
      { start: 0x400000, end: 0x600000 },
      { start: 0x600000, end: 0xa00000 },
      { start: 0x7f0000000000, end: 0x7f0000001000 },
    ]);
  });

  it('finds the same on a second call (no regular expression state is kept)', () => {
    const smaps = mapping('00400000-00600000', 'r--p', '/usr/bin/node', 0);
    assert.equal(cleanFileMappings(smaps).length, 1);
    assert.equal(cleanFileMappings(smaps).length, 1);
  });
});
