import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  CLOSE_RANGE_CLOEXEC, CLONE_NEWUTS, LOCK_EX, LOCK_NB, LOCK_UN, O_CLOEXEC, O_NOCTTY, O_RDWR, PR_CAPBSET_DROP, PR_CAPBSET_READ, SIGKILL, S_IFCHR,
  SyscallError, linuxSys,
} from './index';

/** Runs code in a worker thread of this process and answers what it posts back. */
async function inWorker(body: string): Promise<unknown> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const sys = require(${JSON.stringify(__dirname)} + '/index.js').linuxSys();
    ${body}`;
  const worker = new Worker(code, { eval: true });
  try {
    return await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  } finally {
    await worker.terminate();
  }
}

const CAP_CHOWN = 0;
const CAP_SYS_TIME = 25;

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
    // Namespaces belong to threads: the worker gets a new one, the main thread keeps the process's.
    const code = `
      const { parentPort } = require('node:worker_threads');
      const fs = require('node:fs');
      const sys = require(${JSON.stringify(__dirname)} + '/index.js').linuxSys();
      const before = fs.readlinkSync('/proc/thread-self/ns/uts');
      sys.unshare(${CLONE_NEWUTS});
      parentPort.postMessage([before, fs.readlinkSync('/proc/thread-self/ns/uts')]);`;
    const worker = new Worker(code, { eval: true });
    const [before, after] = await new Promise<string[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    assert.notEqual(after, before, 'the worker is in a new UTS namespace');
    assert.equal(fs.readlinkSync('/proc/thread-self/ns/uts'), before, 'the main thread is not');
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

  it('spawns without forking: fds where asked (sources crossing their targets), signals at their defaults', () => {
    const sys = linuxSys();
    const [outRead, outWrite] = sys.pipe();
    const [extraRead, extraWrite] = sys.pipe();
    // The child's 1 and 3 are the two write ends; /proc shows what it ignores and blocks (Node ignores SIGPIPE).
    const script = 'grep -E "^Sig(Ign|Blk)" /proc/self/status; echo extra >&3; exit 5';
    const pid = sys.spawn('/bin/sh', ['sh', '-c', script], [], [null, outWrite, null, extraWrite], { setsid: true });
    sys.close(outWrite);
    sys.close(extraWrite);
    const pidfd = sys.pidfdOpen(pid);
    try {
      // glibc leaves its own two internal signals (32, 33) ignored in the child; SIGPIPE (bit 12) and the rest are back at their defaults.
      assert.equal(fs.readFileSync(outRead, 'utf8'), 'SigBlk:\t0000000000000000\nSigIgn:\t0000000180000000\n');
      assert.equal(fs.readFileSync(extraRead, 'utf8'), 'extra\n');
      assert.equal(sys.pollReadable(pidfd, 10_000), true, 'exited');
      assert.deepEqual(sys.reapChild(pidfd, 'pidfd'), { code: 5, signal: null });
    } finally {
      for (const fd of [pidfd, outRead, extraRead]) sys.close(fd);
    }
  });

  it('a spawn that cannot exec says why', () => {
    assert.throws(() => linuxSys().spawn('/nonexistent/tool', ['tool'], [], []), (e: unknown) => e instanceof SyscallError && e.code === 'ENOENT');
  });

  it('reaps a child no thread waits for any more: one poll over many pidfds, then waitid by pidfd', async () => {
    const sys = linuxSys();
    // Spawned from a worker thread that then ends: libuv forgets it, and waitid by pidfd still reaps it from this thread.
    const spawnFromWorker = (script: string) => new Promise<number>((resolve) => {
      const worker = new Worker(`const child = require('node:child_process').spawn('sh', ['-c', ${JSON.stringify(script)}], { stdio: 'ignore' });
        child.unref(); require('node:worker_threads').parentPort.postMessage(child.pid);`, { eval: true });
      worker.once('message', resolve);
    });
    const exiting = sys.pidfdOpen(await spawnFromWorker('sleep 0.5; exit 7'));
    const sleeping = sys.pidfdOpen(await spawnFromWorker('sleep 30'));
    try {
      assert.equal(sys.reapChild(exiting, 'pidfd'), undefined, 'still running');
      assert.equal(sys.pollReadable(exiting, 10_000), true, 'exited');
      assert.deepEqual(sys.readableFds([exiting, sleeping]), [exiting], 'only the one that exited');
      assert.deepEqual(sys.reapChild(exiting, 'pidfd'), { code: 7, signal: null });
      sys.pidfdSendSignal(sleeping, SIGKILL);
      assert.equal(sys.pollReadable(sleeping, 10_000), true, 'killed');
      assert.deepEqual(sys.reapChild(sleeping, 'pidfd'), { code: null, signal: SIGKILL });
      assert.throws(() => sys.reapChild(sleeping, 'pidfd'), (e: unknown) => e instanceof SyscallError && e.code === 'ECHILD', 'reaped once');
    } finally {
      for (const fd of [exiting, sleeping]) sys.close(fd);
    }
  });

  it('reads and narrows the capabilities of one thread only (capget/capset, bounding set)', async () => {
    const sys = linuxSys();
    const mine = sys.capget();
    assert.ok((mine.effective >> BigInt(CAP_SYS_TIME)) & 1n, 'root holds CAP_SYS_TIME');
    const seen = (await inWorker(`
      const before = sys.capget();
      const without = before.effective & ~(1n << ${CAP_SYS_TIME}n);
      sys.capset({ effective: without, permitted: before.permitted, inheritable: 0n });
      sys.prctlValue(${PR_CAPBSET_DROP}, ${CAP_CHOWN}, 0);
      const after = sys.capget();
      parentPort.postMessage([String((after.effective >> ${CAP_SYS_TIME}n) & 1n), sys.prctlValue(${PR_CAPBSET_READ}, ${CAP_CHOWN}, 0)]);`)) as [string, number];
    assert.deepEqual(seen, ['0', 0], 'the worker lost CAP_SYS_TIME and CAP_CHOWN from its bounding set');
    assert.deepEqual(sys.capget(), mine, 'the main thread kept its capabilities');
    assert.equal(sys.prctlValue(PR_CAPBSET_READ, CAP_CHOWN, 0), 1);
  });

  it('changes the ids and groups of a process (setgroups, setresgid, setresuid)', () => {
    const script = `
      const sys = require(${JSON.stringify(__dirname)} + '/index.js').linuxSys();
      sys.setgroups([4242, 4343]);
      sys.setresgid(4000, 4000, 4000);
      sys.setresuid(3000, 3000, 3000);
      const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
      console.log(status.split('\\n').filter((l) => /^(Uid|Gid|Groups|CapEff):/.test(l)).join('\\n'));`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.match(out, /^Uid:\s+3000\s+3000\s+3000\s+3000$/m);
    assert.match(out, /^Gid:\s+4000\s+4000\s+4000\s+4000$/m);
    assert.match(out, /^Groups:\s+4242 4343\s*$/m);
    assert.match(out, /^CapEff:\s+0+$/m, 'a non-root user without keepcaps holds no capability');
  });

  it('changes the ids of the calling thread only (raw syscalls, not glibc\'s process-wide wrappers)', async () => {
    const seen = (await inWorker(`
      sys.setgroups([4242]);
      sys.setresgid(4000, 4000, 4000);
      sys.setresuid(3000, 3000, 3000);
      const status = require('node:fs').readFileSync('/proc/thread-self/status', 'utf8');
      parentPort.postMessage(status.split('\\n').filter((l) => /^(Uid|Gid):/.test(l)).join(' '));`)) as string;
    assert.match(seen, /Uid:\s+3000\s+3000\s+3000\s+3000 Gid:\s+4000\s+4000\s+4000\s+4000/, 'the worker thread changed');
    assert.match(fs.readFileSync('/proc/thread-self/status', 'utf8'), /^Uid:\s+0\s+0\s+0\s+0$/m, 'the main thread kept uid 0');
  });

  it('allocates a pseudo-terminal, sizes it and carries bytes between its ends', () => {
    const sys = linuxSys();
    const master = fs.openSync('/dev/ptmx', O_RDWR | O_NOCTTY);
    let slave: number | undefined;
    try {
      sys.grantpt(master);
      sys.unlockpt(master);
      const name = sys.ptsname(master);
      assert.match(name, /^\/dev\/pts\/\d+$/);
      slave = fs.openSync(name, O_RDWR | O_NOCTTY);
      sys.setWindowSize(master, { rows: 33, cols: 111 });
      assert.deepEqual(sys.getWindowSize(slave), { rows: 33, cols: 111 }, 'the size set on the master is seen on the slave');
      fs.writeSync(slave, 'ping');
      const buf = Buffer.alloc(16);
      assert.equal(buf.toString('utf8', 0, fs.readSync(master, buf)), 'ping');
      assert.throws(() => sys.ptsname(slave!), (e: unknown) => e instanceof SyscallError && e.code !== '');
    } finally {
      if (slave !== undefined) fs.closeSync(slave);
      fs.closeSync(master);
    }
  });

  it('makes a close-on-exec pipe', () => {
    const [read, write] = linuxSys().pipe();
    try {
      fs.writeSync(write, 'x');
      const buf = Buffer.alloc(1);
      assert.equal(fs.readSync(read, buf), 1);
      assert.equal(buf.toString(), 'x');
      // fdinfo shows the open flags in octal; O_CLOEXEC (02000000) keeps both ends out of children.
      for (const fd of [read, write]) {
        const flags = /^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1];
        assert.ok((parseInt(flags, 8) & O_CLOEXEC) !== 0, `fd ${fd} is close-on-exec (flags ${flags})`);
      }
    } finally {
      fs.closeSync(read);
      fs.closeSync(write);
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

  it('getcwd answers the cwd; close_range marks fds close-on-exec', () => {
    const sys = linuxSys();
    assert.equal(sys.getcwd(), process.cwd());
    const fd = openSync('/dev/null', 'r');
    try {
      sys.setCloexec(fd, false);
      sys.closeRange(fd, fd, CLOSE_RANGE_CLOEXEC);
      const flags = /^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '';
      assert.equal(Number.parseInt(flags, 8) & O_CLOEXEC, O_CLOEXEC, 'close-on-exec');
    } finally {
      closeSync(fd);
    }
  });

  it('seccompSetFilter refuses a program the kernel cannot take, naming the call', () => {
    assert.throws(() => linuxSys().seccompSetFilter(Buffer.alloc(0)), (error: SyscallError) => error.call === 'seccomp' && error.code === 'EINVAL');
  });
});
