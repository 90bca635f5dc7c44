/**
 * The runtime against the real kernel: namespaces, overlayfs, cgroups. Needs root. Every container
 * is removed in an after hook, so a failing test leaves nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBusyboxImage } from './image/busybox.image';
import { logMatching } from './testing/runtime.fixture';
import { LinuxRuntime } from './linux.runtime';
import { ContainerSpec, RuntimeError } from './runtime.types';

const MiB = 2 ** 20;
/** Unique per run: another checkout may run these tests at the same time on this machine (same cgroup parent). */
const RUN = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

/** Where the cgroup of a container lives, v1 (one dir per controller) or v2. */
function cgroupDirs(id: string): string[] {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return [`/sys/fs/cgroup/tide/${id}`];
  return ['cpu', 'memory', 'pids'].map((controller) => `/sys/fs/cgroup/${controller}/tide/${id}`);
}

const hostMounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8');

// The same behaviour whether every start is cold or takes an init from the warm pool.
for (const warmPool of [0, 2]) describe(`LinuxRuntime (warm pool ${warmPool})`, { timeout: 600_000 }, () => {
  let dir: string;
  let runtime: LinuxRuntime;
  const started: string[] = [];

  const spec = (id: string, script: string, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    id: `rt-${RUN}-p${warmPool}-${id}`, hostname: `host-${id}`, image: 'busybox', argv: ['sh', '-c', script], env: {},
    limits: { memoryBytes: 64 * MiB, cpuMillis: 500 }, labels: {}, ...extra,
  });

  async function start(s: ContainerSpec) {
    started.push(s.id);
    return runtime.start(s);
  }

  const logOf = (id: string, until: RegExp) => logMatching(path.join(dir, 'state/containers', id, 'log'), until);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-runtime-'));
    await ensureBusyboxImage(path.join(dir, 'images'));
    runtime = new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images'), warmPool });
    await runtime.warmUp();
  });

  after(async () => {
    await runtime.close();
    for (const id of started) await runtime.remove(id).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the command as PID 1 with its own hostname and no host processes', async () => {
    const s = spec('pid1', 'echo hi; hostname; ps -o pid,args; echo END; sleep 30');
    await start(s);
    const log = await logOf(s.id, /END/);
    assert.match(log, /^hi$/m);
    assert.match(log, /^host-pid1$/m);
    const processes = log.split('\n').filter((line) => /^\s*\d+\s/.test(line));
    assert.match(processes[0], /^\s*1 sh -c echo hi/);
    assert.ok(processes.length <= 3, `only the container's processes:\n${log}`);
    assert.doesNotMatch(hostMounts(), new RegExp(s.id), 'the overlay is mounted in the container only');
  });

  it('gives each container its own copy-on-write root', async () => {
    const a = spec('cow-a', 'echo a > /tmp/mine; echo written; sleep 30');
    const b = spec('cow-b', 'sleep 0.5; ls /tmp; echo listed; sleep 30');
    await start(a);
    await logOf(a.id, /written/);
    await start(b);
    const log = await logOf(b.id, /listed/);
    assert.doesNotMatch(log, /mine/);
    assert.equal(fs.existsSync(path.join(dir, 'state/containers', a.id, 'upper/tmp/mine')), true, 'the write went to its upper layer');
  });

  it('hands the init a config larger than a pipe holds (a 200 KB environment)', async () => {
    // The config goes through a pipe of 64 KiB: the rest must follow as the init reads, without a
    // cut line and without blocking the runtime. (execve takes at most 128 KiB per string: four.)
    const env = Object.fromEntries([1, 2, 3, 4].map((n) => [`BIG${n}`, String(n).repeat(50 * 1024)]));
    const s = spec('bigenv', 'echo "${#BIG1} ${#BIG2} ${#BIG3} ${#BIG4} ${BIG4:0:3}"; sleep 30', { env });
    await start(s);
    assert.match(await logOf(s.id, /444/), /^51200 51200 51200 51200 444$/m);
  });

  it('starts commands that exit at once as started, each with its exit code, never as a failed start', async () => {
    // Such a command's worker can end before its start's verdict is read, more so on a busy machine.
    for (let i = 0; i < 20; i++) {
      const s = spec(`quick${i}`, `exit ${i % 5}`);
      await start(s);
      const exit = await runtime.wait(s.id);
      assert.equal(exit.code, i % 5, `start ${i}`);
      await runtime.remove(s.id);
    }
  });

  it('reports the exit code', async () => {
    const s = spec('exit3', 'exit 3');
    await start(s);
    const exit = await runtime.wait(s.id);
    assert.equal(exit.code, 3);
    assert.equal(exit.oomKilled, false);
  });

  it('reports an OOM kill past the memory limit', async () => {
    const s = spec('oom', 'tail /dev/zero', { limits: { memoryBytes: 32 * MiB } });
    await start(s);
    const exit = await runtime.wait(s.id);
    assert.equal(exit.oomKilled, true);
    assert.equal(exit.signal, 'SIGKILL');
  });

  it('refuses a missing image with ImageNotFound and leaves nothing behind', async () => {
    const s = spec('noimage', 'true', { image: 'nope:1' });
    await assert.rejects(runtime.start(s), (e: unknown) => e instanceof RuntimeError && e.code === 'ImageNotFound');
    assert.equal(fs.existsSync(path.join(dir, 'state/containers', s.id)), false);
  });

  it('refuses a missing executable with StartFailed and cleans up', async () => {
    const s = spec('noexec', '', { argv: ['no-such-binary'] });
    await assert.rejects(runtime.start(s), (e: unknown) => e instanceof RuntimeError && e.code === 'StartFailed' && /not found/.test(e.message));
    assert.equal(fs.existsSync(path.join(dir, 'state/containers', s.id)), false);
    for (const dir of cgroupDirs(s.id)) assert.equal(fs.existsSync(dir), false, `${dir} removed`);
  });

  it('stops with SIGTERM, then SIGKILL after the grace period, and remove leaves nothing', async () => {
    const s = spec('stop', 'sleep 60');
    const info = await start(s);
    const t0 = performance.now();
    const exit = await runtime.stop(s.id, 1);
    // sh as PID 1 of its namespace has no SIGTERM handler, so only the SIGKILL after 1 s ends it:
    // a lower bound (a loaded machine only makes it later).
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(performance.now() - t0 >= 900);
    await runtime.remove(s.id);
    assert.equal(fs.existsSync(`/proc/${info.pid}`), false);
    assert.equal(fs.existsSync(path.join(dir, 'state/containers', s.id)), false);
    for (const dir of cgroupDirs(s.id)) assert.equal(fs.existsSync(dir), false, `${dir} removed`);
    assert.doesNotMatch(hostMounts(), new RegExp(s.id), 'nothing mounted on the host');
    await runtime.remove(s.id); // idempotent
  });

  it('lets a process that handles SIGTERM end within the grace period', async () => {
    const s = spec('term', "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done");
    await start(s);
    await logOf(s.id, /ready/);
    // A grace period no loaded machine runs out of: exit code 0 and no signal say the trap ended
    // it; the SIGKILL at the end of the grace period would have left code null and SIGKILL.
    const exit = await runtime.stop(s.id, 60);
    assert.deepEqual([exit.code, exit.signal], [0, null], 'ended by its own TERM handler, not the SIGKILL');
    assert.match(await logOf(s.id, /bye/), /bye/);
  });

  it('merges the image env with the spec env and runs in the working dir', async () => {
    const s = spec('env', 'echo "$FOO|$PATH|$(pwd)"', { env: { FOO: 'bar' }, workingDir: '/tmp' });
    await start(s);
    await runtime.wait(s.id);
    assert.match(await logOf(s.id, /\|/), /^bar\|\/bin:\/usr\/bin:\/sbin:\/usr\/sbin\|\/tmp$/m);
  });

  it('clears the debris of an interrupted start with the same id', async () => {
    const s = spec('debris', 'ls /; echo listed');
    fs.mkdirSync(path.join(dir, 'state/containers', s.id, 'upper/stale'), { recursive: true });
    await start(s);
    await runtime.wait(s.id);
    assert.doesNotMatch(await logOf(s.id, /listed/), /stale/);
  });

  it('is adopted by a new runtime over the same state dir (an agent restart)', async () => {
    const s = spec('adopt', 'sleep 60');
    const info = await start(s);
    const restarted = new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images'), warmPool: 0 });
    const found = (await restarted.list()).find((c) => c.id === s.id);
    assert.ok(found, 'found after restart');
    assert.equal(found.pid, info.pid);
    assert.equal(found.exit, undefined, 'still running');
    const waited = restarted.wait(s.id);
    const exit = await restarted.stop(s.id, 0);
    assert.equal(exit.code, null, "an adopted container's exit code is unknown");
    assert.equal(exit.signal, null);
    assert.deepEqual(await waited, exit);
    await restarted.remove(s.id);
    assert.equal(fs.existsSync(`/proc/${info.pid}`), false);
    for (const dir of cgroupDirs(s.id)) assert.equal(fs.existsSync(dir), false, `${dir} removed`);
  });

  it('tells a waiting adopter when an adopted container exits by itself', async () => {
    const s = spec('adopt-exit', 'sleep 1; exit 5');
    await start(s);
    const restarted = new LinuxRuntime({ stateDir: path.join(dir, 'state'), imageDir: path.join(dir, 'images'), warmPool: 0 });
    const exit = await restarted.wait(s.id);
    assert.equal(exit.code, null);
    assert.equal(exit.oomKilled, false);
    const listed = (await restarted.list()).find((c) => c.id === s.id);
    assert.ok(listed?.exit, 'listed as exited');
  });

  it('keeps no thread per running container, nor per start (the launcher is a process that ends)', async () => {
    const threads = () => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);
    const startFour = async (batch: string) => {
      for (let i = 0; i < 4; i++) await start(spec(`threads-${batch}${i}`, 'sleep 60'));
      await runtime.warmUp(); // the pool refilled
    };
    await startFour('a');
    const withFour = threads();
    await startFour('b');
    // libuv's thread pool may grow by one on the way (a file read of the runtime's).
    assert.ok(threads() <= withFour + 1, `${threads()} threads with 8 containers, ${withFour} with 4`);
    for (let i = 0; i < 4; i++) assert.equal((await runtime.list()).find((c) => c.id === spec(`threads-b${i}`, '').id)?.exit, undefined, 'still running');
  });

  it('refuses an id that is not a safe path component', async () => {
    await assert.rejects(runtime.start(spec('x', 'true', { id: '../escape' })), (e: unknown) => e instanceof RuntimeError && e.code === 'InvalidSpec');
  });
});
