import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CONSOLE_MARK, splitStatus } from './init.pipes';

/** What the native init writes (native/init/process.c, open_stdio). */
const consoleLine = (fd: number) => `${CONSOLE_MARK}${fd}\n`;

describe('the status pipe with a console line', () => {
  it('names the fd first, then carries the verdict as before', () => {
    assert.deepEqual(splitStatus(consoleLine(23)), { consoleFd: 23, verdict: '' });
    assert.deepEqual(splitStatus(`${consoleLine(23)}executable "nope" not found`), { consoleFd: 23, verdict: 'executable "nope" not found' });
  });

  it('is the verdict alone without one (a container without attachable stdio, or an init that failed before)', () => {
    assert.deepEqual(splitStatus(''), { verdict: '' });
    assert.deepEqual(splitStatus('mount: permission denied'), { verdict: 'mount: permission denied' });
    assert.deepEqual(splitStatus(`${CONSOLE_MARK}2`), { verdict: '2' }, 'a cut line names no fd');
  });
});
