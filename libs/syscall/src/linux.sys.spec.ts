import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CLONE_NEWUTS, SyscallError, linuxSys } from './index';

describe('linuxSys', () => {
  it('calls into libc', () => {
    assert.equal(linuxSys().getpid(), process.pid);
  });

  it('maps a failing call to a SyscallError naming the call and errno', () => {
    assert.throws(() => linuxSys().chdir('/no/such/dir'), (error: unknown) => {
      assert.ok(error instanceof SyscallError);
      assert.equal(error.errno, 2);
      assert.match(error.message, /chdir: ENOENT/);
      return true;
    });
  });

  it('unshares a UTS namespace in a worker thread without touching the process', async () => {
    // Namespaces belong to threads: the worker's new hostname must not leak into the main thread.
    const code = `
      const { parentPort } = require('node:worker_threads');
      const sys = require(${JSON.stringify(__dirname)} + '/index.js').linuxSys();
      sys.unshare(${CLONE_NEWUTS});
      sys.sethostname('tide-uts-test');
      parentPort.postMessage(require('node:fs').readFileSync('/proc/thread-self/root/proc/sys/kernel/hostname', 'utf8').trim());`;
    const worker = new Worker(code, { eval: true });
    const seen = await new Promise<string>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    assert.equal(seen, 'tide-uts-test');
    assert.notEqual(os.hostname(), 'tide-uts-test');
  });
});
