import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { RecordingSys } from '@tide/syscall/testing';
import { ExitWatcher } from './exit.watcher';
import { ProcessHandle } from './process';

/** A handle on a made-up process behind pidfd `fd` (the fake answers for every fd alike). */
const handleOn = (sys: RecordingSys, fd: number) => ProcessHandle.ofChild(sys, 999_999_000 + fd, fd);

describe('ExitWatcher', () => {
  it('reaps an exited child with its code, with one poll for all the processes it watches', async () => {
    const sys = new RecordingSys();
    const watcher = new ExitWatcher(sys);
    const first = watcher.watch(handleOn(sys, 10), true);
    const second = watcher.watch(handleOn(sys, 11), true);
    watcher.sweep();
    assert.deepEqual(sys.calls.filter((c) => c.call === 'readableFds').at(-1)?.args, [[10, 11]], 'one poll over both pidfds');
    assert.equal(sys.calls.some((c) => c.call === 'reapChild'), false, 'nothing reaped while both run');
    sys.readable = true;
    sys.childExit = { code: 3, signal: null };
    watcher.sweep();
    assert.deepEqual(await first, { code: 3, signal: null });
    assert.deepEqual(await second, { code: 3, signal: null });
  });

  it('names the signal that killed a child', async () => {
    const sys = new RecordingSys();
    sys.readable = true;
    sys.childExit = { code: null, signal: 9 };
    assert.deepEqual(await new ExitWatcher(sys).watch(handleOn(sys, 12), true), { code: null, signal: 'SIGKILL' });
  });

  it('waits while a readable pidfd cannot be reaped yet, and tries again by itself', async () => {
    const sys = new RecordingSys();
    sys.readable = true; // exited, but waitid finds nothing yet (childExit undefined)
    const watcher = new ExitWatcher(sys);
    const exited = watcher.watch(handleOn(sys, 13), true);
    watcher.sweep();
    setTimeout(() => (sys.childExit = { code: 0, signal: null }), 30);
    assert.deepEqual(await exited, { code: 0, signal: null });
  });

  it('never reaps a process that is not its child (an adopted container): it only says it ended', async () => {
    const sys = new RecordingSys();
    sys.readable = true;
    assert.equal(await new ExitWatcher(sys).watch(handleOn(sys, 14), false), undefined);
    assert.equal(sys.calls.some((c) => c.call === 'reapChild'), false);
  });

  it('polls only the adopted processes between exits: its own children are found by their SIGCHLD', () => {
    const sys = new RecordingSys();
    const watcher = new ExitWatcher(sys);
    void watcher.watch(handleOn(sys, 20), true);
    void watcher.watch(handleOn(sys, 21), false);
    watcher.sweep(true);
    assert.deepEqual(sys.calls.filter((c) => c.call === 'readableFds').at(-1)?.args, [[21]], 'the adopted pidfd only');
    watcher.sweep();
    assert.deepEqual(sys.calls.filter((c) => c.call === 'readableFds').at(-1)?.args, [[20, 21]], 'a SIGCHLD sweeps all');
    sys.readable = true;
    sys.childExit = { code: 0, signal: null };
    watcher.sweep(); // both end: nothing is left watched, and no timer keeps the test alive
  });
});
