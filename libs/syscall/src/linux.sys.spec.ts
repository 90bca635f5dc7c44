import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CLONE_NEWUTS, LOCK_EX, LOCK_NB, LOCK_UN, SIGKILL, S_IFCHR, SyscallError, linuxSys } from './index';

describe('linuxSys', () => {
  it('calls into libc', () => {
    assert.equal(linuxSys().getpid(), process.pid);
  });

  it('maps a failing call to a SyscallError naming the call and errno', () => {
    assert.throws(() => linuxSys().chdir('/no/such/dir'), (error: unknown) => {
      assert.ok(error instanceof SyscallError);
      assert.equal(error.errno, 2);
      assert.equal(error.code, 'ENOENT');
      assert.equal(error.message, 'chdir: ENOENT no such file or directory (2): /no/such/dir');
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

  it('follows a process through a pidfd: signal, exit seen by poll, then ESRCH', async () => {
    const sys = linuxSys();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const pidfd = sys.pidfdOpen(child.pid!);
    try {
      assert.equal(sys.pollReadable(pidfd, 0), false, 'running');
      sys.pidfdSendSignal(pidfd, SIGKILL);
      assert.equal(await exited, 'SIGKILL');
      assert.equal(sys.pollReadable(pidfd, 1000), true, 'exited');
      assert.throws(() => sys.pidfdSendSignal(pidfd, SIGKILL), (e: unknown) => e instanceof SyscallError && e.code === 'ESRCH');
    } finally {
      sys.close(pidfd);
      child.kill('SIGKILL');
    }
  });
});

describe('linuxSys, image store calls', () => {
  const tmp = (): string => mkdtempSync(`${os.tmpdir()}/tide-sys-`);

  it('makes an overlay whiteout (char device 0/0) with mknod', () => {
    const dir = tmp();
    try {
      linuxSys().mknod(`${dir}/gone`, S_IFCHR, 0, 0);
      const stat = statSync(`${dir}/gone`);
      assert.ok(stat.isCharacterDevice());
      assert.equal(stat.rdev, 0);
      linuxSys().mknod(`${dir}/dev`, S_IFCHR | 0o600, 1, 3);
      assert.equal(statSync(`${dir}/dev`).rdev, (1 << 8) | 3, 'major 1 minor 3 = /dev/null');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sets, reads and lists trusted xattrs; an absent one reads as undefined', () => {
    const dir = tmp();
    try {
      const sys = linuxSys();
      assert.equal(sys.lgetxattr(dir, 'trusted.overlay.opaque'), undefined);
      sys.lsetxattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
      assert.equal(sys.lgetxattr(dir, 'trusted.overlay.opaque')?.toString(), 'y');
      assert.ok(sys.llistxattr(dir).includes('trusted.overlay.opaque'));
      assert.throws(() => sys.lgetxattr(`${dir}/missing`, 'user.x'), (e: unknown) => e instanceof SyscallError && e.code === 'ENOENT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flock excludes a second open file description, also in the same process', () => {
    const dir = tmp();
    const file = `${dir}/lock`;
    writeFileSync(file, '');
    const a = openSync(file, 'r');
    const b = openSync(file, 'r');
    try {
      const sys = linuxSys();
      assert.equal(sys.flock(a, LOCK_EX | LOCK_NB), true);
      assert.equal(sys.flock(b, LOCK_EX | LOCK_NB), false, 'held by the other description');
      sys.flock(a, LOCK_UN);
      assert.equal(sys.flock(b, LOCK_EX | LOCK_NB), true);
    } finally {
      closeSync(a);
      closeSync(b);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
