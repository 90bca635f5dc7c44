/**
 * Issue 14's container hardening on the real kernel, seen from inside containers: the default
 * seccomp filter (and Unconfined as the control that shows the probe can tell), the host's init and
 * node binaries out of reach through /proc/PID/exe (CVE-2019-5736), no host fd and no working dir outside
 * the root (CVE-2024-21626), layers and upperdirs out of other users' reach (CVE-2021-41091).
 * Needs root, gcc and setpriv. Every container is removed in the after hook.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONTAINER_INIT } from './container/init.launcher';
import { ensureNodeImage } from './image/node.image';
import { ExecSession } from './runtime.types';
import { RuntimeFixture } from './testing/runtime.fixture';
import { buildSyscallProbe } from './testing/syscall.probe';

const PROBES = 'unshare-user unshare-net keyctl add_key io_uring_setup mount clone3 getpid';

/**
 * Tries every /proc/PID/exe it can see (or those of $PIDS): open for writing, truncate, chmod, chown
 * and utimes to what they are already (harmless if they succeeded), and prints one JSON line: per
 * process its dev:ino and the errors. Opening a running binary for writing fails with ETXTBSY anyway
 * (while any process runs it), so the read-only mount shows in the calls that change only metadata: EROFS.
 */
const EXE_ATTACK = String.raw`
const fs = require('fs');
const out = [];
for (const pid of process.env.PIDS ? process.env.PIDS.split(',') : fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
  const exe = '/proc/' + pid + '/exe';
  let st;
  try { st = fs.statSync(exe); } catch (e) { out.push({ pid, unreachable: e.code }); continue; }
  const tries = {};
  const attempt = (what, fn) => { try { fn(); tries[what] = 'DONE'; } catch (e) { tries[what] = e.code; } };
  attempt('openWrite', () => fs.closeSync(fs.openSync(exe, fs.constants.O_WRONLY)));
  attempt('chmod', () => fs.chmodSync(exe, st.mode & 0o7777));
  attempt('truncate', () => fs.truncateSync(exe, st.size));
  attempt('chown', () => fs.chownSync(exe, st.uid, st.gid));
  attempt('utimes', () => fs.utimesSync(exe, st.atime, st.mtime));
  out.push({ pid, file: st.dev + ':' + st.ino, ...tries });
}
console.log('EXE ' + JSON.stringify(out));
`;

async function collect(session: ExecSession): Promise<string> {
  let text = '';
  session.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  session.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  session.stdin.end();
  await session.exited;
  return text;
}

describe('container hardening', { timeout: 600_000 }, () => {
  let f: RuntimeFixture;
  let hostNode: string;
  let hostMode: number;

  before(async () => {
    f = await RuntimeFixture.create('hardening');
    const probe = buildSyscallProbe(f.dir);
    await f.imageWith('probe:1', { 'usr/bin/probe': { body: fs.readFileSync(probe), mode: 0o755 } });
    await ensureNodeImage(f.imageDir);
    const st = fs.statSync(process.execPath);
    hostNode = `${st.dev}:${st.ino}`;
    hostMode = st.mode;
  });

  after(async () => f.cleanup());

  it('refuses user namespaces, keyctl, add_key, io_uring and mount with EPERM; clone3 is ENOSYS', async () => {
    const log = await f.output('seccomp', `grep Seccomp: /proc/self/status; probe ${PROBES}`, { image: 'probe:1' });
    assert.match(log, /^Seccomp:\s+2$/m, 'filter mode');
    for (const name of ['unshare-user', 'unshare-net', 'keyctl', 'add_key', 'io_uring_setup', 'mount']) {
      assert.match(log, new RegExp(`^${name}=EPERM$`, 'm'), name);
    }
    assert.match(log, /^clone3=ENOSYS$/m);
    assert.match(log, /^getpid=OK$/m);
  });

  it('runs Unconfined without a filter: the same probe then reaches the kernel', async () => {
    const log = await f.output('unconfined', `grep Seccomp: /proc/self/status; probe ${PROBES}`, { image: 'probe:1', seccompProfile: 'Unconfined' });
    assert.match(log, /^Seccomp:\s+0$/m);
    assert.match(log, /^keyctl=OK$/m);
    assert.match(log, /^add_key=OK$/m);
    if (fs.readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '0') assert.match(log, /^io_uring_setup=OK$/m);
    assert.match(log, /^mount=EPERM$/m, 'still no CAP_SYS_ADMIN');
  });

  it('puts exec sessions under the container\'s filter', async () => {
    const spec = f.spec('exec', 'sleep 3600', { image: 'probe:1' });
    await f.start(spec);
    const session = await f.runtime.exec(spec.id, { argv: ['sh', '-c', `grep Seccomp: /proc/self/status; ls /proc/self/fd | tr "\\n" " "; echo; probe ${PROBES}`], tty: false });
    const out = await collect(session);
    assert.match(out, /^Seccomp:\s+2$/m);
    assert.match(out, /^keyctl=EPERM$/m);
    assert.match(out, /^unshare-user=EPERM$/m);
    assert.match(out, /^io_uring_setup=EPERM$/m);
    assert.match(out, /^0 1 2 3 $/m, 'stdio and ls\'s own directory fd, nothing of the host');
  });

  it('hands the workload no fd beyond stdio', async () => {
    const log = await f.output('fds', 'ls /proc/self/fd | tr "\\n" " "; echo; for fd in 0 1 2; do readlink /proc/self/fd/$fd; done');
    assert.match(log, /^0 1 2 3 $/m, 'stdio and ls\'s own directory fd');
    // Every one resolves inside the container: its own /dev/null and the log, which it sees as
    // outside its root (opened by the init before pivot_root), never a host directory.
    const [stdin] = log.split('\n').slice(1);
    assert.equal(stdin, '/dev/null', log);
  });

  it('never starts a process whose working dir is outside the root (a leaked fd through /proc/self/fd)', async () => {
    for (let fd = 3; fd < 12; fd++) {
      const spec = f.spec(`cwd${fd}`, 'pwd', { workingDir: `/proc/self/fd/${fd}` });
      const started = await f.start(spec).then(() => '', (error: Error) => error.message);
      if (started !== '') {
        assert.match(started, /outside the container's root|ENOTDIR|ENOENT|not a directory|no such file/i, started);
        continue;
      }
      await f.runtime.wait(spec.id);
      const log = await f.logOf(spec.id, /$/);
      assert.doesNotMatch(log, /unreachable/, `fd ${fd}: ${log}`);
    }
  });

  it('keeps layers and upperdirs, setuid binaries included, out of other host users\' reach', async () => {
    fs.chmodSync(f.dir, 0o755); // as a state dir under /var/lib would be: only Tide's own modes stand in the way
    await f.imageWith('suid:1', { 'usr/bin/suid-sh': { body: fs.readFileSync('/bin/busybox'), mode: 0o4755 } });
    const spec = f.spec('suid', 'cp /bin/busybox /upper-suid && chmod 4755 /upper-suid && echo READY; sleep 3600', { image: 'suid:1' });
    await f.start(spec);
    await f.logOf(spec.id, /READY/);
    const layersDir = path.join(f.imageDir, 'layers/sha256');
    const inLayer = fs.readdirSync(layersDir).map((hex) => path.join(layersDir, hex, 'usr/bin/suid-sh')).find((file) => fs.existsSync(file));
    const containerDir = path.join(f.dir, 'state/containers', spec.id);
    const inUpper = path.join(containerDir, 'upper/upper-suid');
    assert.ok(inLayer, 'the setuid binary is in a layer');
    for (const file of [inLayer, inUpper]) assert.equal(fs.statSync(file).mode & 0o4000, 0o4000, `${file} is setuid`);
    for (const file of [inLayer, inUpper]) {
      // Through a shell running as nobody: setpriv itself, still root when it looks the command up, is no test.
      const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/bin/sh', '-c', '"$0" id -u', file], { encoding: 'utf8' });
      assert.notEqual(run.status, 0, `nobody ran ${file}: ${run.stdout}`);
      assert.match(run.stderr, /Permission denied/, run.stderr);
      const list = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'ls', path.dirname(file)], { encoding: 'utf8' });
      assert.notEqual(list.status, 0, `nobody listed ${path.dirname(file)}: ${list.stdout}`);
    }
    for (const dir of [path.join(f.dir, 'state'), path.join(f.dir, 'state/containers'), containerDir, f.imageDir]) {
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700, dir);
    }
    for (const file of [path.join(containerDir, 'state.json'), path.join(containerDir, 'log')]) {
      assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
    }
  });

  it('keeps the host\'s init binary read-only through a waiting init\'s /proc/PID/exe, and refuses to run as a container\'s command', async () => {
    await f.runtime.warmUp();
    const [waiting] = waitingInits();
    assert.ok(waiting, 'an init waits in the pool');
    const init = fs.statSync(CONTAINER_INIT);
    // From the host, as root: whoever reaches the init through its /proc/PID/exe (a container's root
    // would, were its command /proc/self/exe) finds a read-only mount.
    const attack = spawnSync(process.execPath, ['-e', EXE_ATTACK], { encoding: 'utf8', env: { PIDS: String(waiting) } });
    assertSealed(attack.stdout + attack.stderr, `${init.dev}:${init.ino}`);
    // The CVE's pattern: the container's command is /proc/self/exe, i.e. the binary its init runs.
    // It is tide-init, which runs only with the launcher's pipes: it says so and exits.
    const spec = f.spec('init-exe', '', { argv: ['/proc/self/exe'] });
    await f.start(spec);
    assert.equal((await f.runtime.wait(spec.id)).code, 127);
    assert.match(await f.logOf(spec.id, /tide-init/), /fd 3 is not open: this is a container's init, started only by tide-launch/);
    assert.equal(fs.statSync(CONTAINER_INIT).mode, init.mode, 'the host binary is unchanged');
  });

  it('keeps the host\'s node binary read-only through exec\'s /proc/self/exe', async () => {
    // The exec init is node: an exec session's /proc/self/exe is the host's node binary.
    const spec = f.spec('exe', '', { image: 'node', argv: ['node', '-e', 'setInterval(() => {}, 1000)'] });
    await f.start(spec);
    const exec = await f.runtime.exec(spec.id, { argv: ['/proc/self/exe', '-e', EXE_ATTACK], tty: false });
    assertSealed(await collect(exec), hostNode);
    assert.equal(fs.statSync(process.execPath).mode, hostMode, 'the host binary is unchanged');
  });
});

/** The EXE_ATTACK line in `text`: `binary` (dev:ino, the host's) was reached and is read-only. The
 *  other processes' binaries are the image's own files, the container's to change. */
function assertSealed(text: string, binary: string): void {
  const results = JSON.parse(/^EXE (.*)$/m.exec(text)?.[1] ?? 'null') as Record<string, string>[] | null;
  assert.ok(results && results.length > 0, text);
  const seen = results.filter((r) => r.file === binary);
  assert.ok(seen.length > 0, `${binary} is among the binaries reached: ${text}`);
  for (const r of seen) {
    for (const attempt of ['openWrite', 'truncate']) assert.notEqual(r[attempt], 'DONE', `${attempt} of pid ${r.pid}'s exe`);
    for (const attempt of ['chmod', 'chown', 'utimes']) assert.equal(r[attempt], 'EROFS', `${attempt} through pid ${r.pid}`);
  }
}

/** Pids of this process's children that are still a container init, waiting in the pool. */
function waitingInits(): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === process.pid && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === CONTAINER_INIT;
    } catch {
      return false; // gone meanwhile
    }
  });
}
