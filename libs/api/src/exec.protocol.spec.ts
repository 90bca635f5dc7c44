import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ExecProtocolError, FrameDecoder, FrameType, MAX_FRAME_BYTES, encodeFrame, exitCodeOf, exitFrame, parseExit, parseResize, resizeFrame,
} from './exec.protocol';

describe('exec frames', () => {
  it('encodes type, big-endian length and payload', () => {
    assert.deepEqual([...encodeFrame(FrameType.STDOUT, 'hi')], [1, 0, 0, 0, 2, 0x68, 0x69]);
    assert.deepEqual([...resizeFrame(24, 80)], [3, 0, 0, 0, 4, 0, 24, 0, 80]);
    assert.deepEqual([...encodeFrame(FrameType.STDIN_EOF)], [4, 0, 0, 0, 0]);
  });

  it('decodes frames split across chunks in any place', () => {
    const bytes = Buffer.concat([encodeFrame(FrameType.STDIN, 'abc'), resizeFrame(50, 132), exitFrame({ code: 3, signal: null })]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))];
      assert.deepEqual(frames.map((f) => f.type), [FrameType.STDIN, FrameType.RESIZE, FrameType.EXIT], `cut at ${cut}`);
      assert.equal(frames[0].payload.toString(), 'abc');
      assert.deepEqual(parseResize(frames[1].payload), { rows: 50, cols: 132 });
      assert.deepEqual(parseExit(frames[2].payload), { code: 3, signal: null });
      assert.equal(decoder.buffered, 0);
    }
  });

  it('refuses unknown types and oversized frames instead of buffering them', () => {
    assert.throws(() => new FrameDecoder().push(Buffer.from([9, 0, 0, 0, 0])), ExecProtocolError);
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 1);
    assert.throws(() => new FrameDecoder().push(huge), /exceeds/);
  });

  it('turns an exit into a shell exit code: the code, 128 + signal, 1 for a broken session', () => {
    const signals = { SIGKILL: 9, SIGTERM: 15 };
    assert.deepEqual([
      exitCodeOf({ code: 0, signal: null }, signals), exitCodeOf({ code: 42, signal: null }, signals),
      exitCodeOf({ code: null, signal: 'SIGKILL' }, signals), exitCodeOf({ code: null, signal: null, error: 'x' }, signals),
    ], [0, 42, 137, 1]);
  });
});
