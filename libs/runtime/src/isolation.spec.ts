/**
 * Container security on the real kernel, as a user of the container sees it: /dev, masked and
 * read-only paths, the read-only root, the user, capabilities, no_new_privs and the pids limit.
 * Needs root. Every container is removed in the after hook, so a failing test leaves nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { processStartTime } from './container/process';
import { DEFAULT_CAPABILITY_MASK } from './init/capabilities';
import { LinuxRuntime } from './linux.runtime';
import type { NetworkAttacher } from './network/container.network';
import { RuntimeError } from './runtime.types';
import { RuntimeFixture } from './testing/runtime.fixture';

/** The pids controller's directory of a container (v2: the unified group). */
function pidsDir(id: string): string {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return `/sys/fs/cgroup/tide/${id}`;
  return `/sys/fs/cgroup/pids/tide/${id}`;
}

/** "CapEff" → its value from /proc/self/status lines printed by the container. */
function statusField(log: string, field: string): string {
  return new RegExp(`^${field}:[ \\t]*(.*)$`, 'm').exec(log)?.[1].trim() ?? `(no ${field} in ${log})`;
}

const DEFAULT_CAPS_HEX = DEFAULT_CAPABILITY_MASK.toString(16).padStart(16, '0');
const STATUS = 'grep -E "^(Uid|Gid|Groups|Cap...|NoNewPrivs):" /proc/self/status';

describe('container isolation', { timeout: 600_000 }, () => {
  let f: RuntimeFixture;

  before(async () => {
    f = await RuntimeFixture.create('isolation');
    await f.imageWith('users:1', {
      'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n',
      'etc/group': 'root:x:0:\ntty:x:5:\napp:x:1000:\nstaff:x:50:app,other\n',
    });
  });

  after(async () => f.cleanup());

  it('gives a minimal /dev with its own ptys and message queues, and no usable device nodes of its own', async () => {
    const log = await f.output('dev', [
      'ls /dev | tr "\\n" " "; echo', 'readlink /dev/ptmx', 'grep -E " /dev/(pts|mqueue) " /proc/self/mountinfo',
      'mknod /tmp/null c 1 3 && echo made', 'echo x > /tmp/null || echo refused',
    ].join('; '), { image: 'users:1' });
    assert.match(log, /^fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero $/m);
    assert.match(log, /^pts\/ptmx$/m);
    assert.match(log, / \/dev\/pts .* - devpts devpts rw,.*gid=5,mode=620,ptmxmode=666/);
    assert.match(log, / \/dev\/mqueue .* - mqueue /);
    // CAP_MKNOD is in the default set, but the root is nodev: the node (the harmless /dev/null's
    // numbers, so only nodev can refuse it) exists and cannot be opened.
    assert.match(log, /^made$/m);
    assert.match(log, /\/tmp\/null: Permission denied/);
    assert.match(log, /^refused$/m);
  });

  it('masks and write-protects the OCI default paths, and /sys is read-only', async () => {
    const log = await f.output('masked', [
      'echo "keys[$(cat /proc/keys | wc -c)]"', 'echo "timers[$(cat /proc/timer_list | wc -c)]"',
      'echo "acpi[$(ls /proc/acpi | wc -l)]"', 'echo "firmware[$(ls /sys/firmware 2>/dev/null | wc -l)]"',
      'echo x > /proc/sys/kernel/domainname || echo sysctl-refused', 'echo h > /proc/sysrq-trigger || echo sysrq-refused',
      'grep " /sys " /proc/self/mountinfo', 'cat /proc/sys/kernel/ostype',
    ].join('; '));
    assert.match(log, /^keys\[0\]$/m);
    assert.match(log, /^timers\[0\]$/m);
    assert.match(log, /^acpi\[0\]$/m);
    assert.match(log, /^firmware\[0\]$/m);
    assert.match(log, /sysctl-refused/);
    assert.match(log, /sysrq-refused/);
    assert.match(log, / \/sys ro,/);
    assert.match(log, /^Linux$/m, 'read-only paths stay readable');
  });

  it('mounts the root read-only when asked, keeping /dev/shm, /proc and /dev writable', async () => {
    const log = await f.output('ro', 'touch /tmp/x || echo root-refused; echo ok > /dev/shm/x && cat /dev/shm/x; echo > /dev/null && echo dev-ok', {
      readOnlyRootFilesystem: true,
    });
    assert.match(log, /Read-only file system/);
    assert.match(log, /root-refused/);
    assert.match(log, /^ok$/m);
    assert.match(log, /^dev-ok$/m);
    const writable = await f.output('rw', 'touch /tmp/x && echo root-writable');
    assert.match(writable, /root-writable/, 'the default stays writable');
  });

  it("runs as root with Docker's default capabilities, the rest dropped, and no_new_privs", async () => {
    const log = await f.output('caps-root', STATUS);
    assert.equal(DEFAULT_CAPS_HEX, '00000000a80425fb');
    assert.equal(statusField(log, 'Uid'), '0\t0\t0\t0');
    assert.equal(statusField(log, 'CapBnd'), DEFAULT_CAPS_HEX);
    assert.equal(statusField(log, 'CapEff'), DEFAULT_CAPS_HEX);
    assert.equal(statusField(log, 'CapPrm'), DEFAULT_CAPS_HEX);
    assert.equal(statusField(log, 'CapInh'), '0000000000000000');
    assert.equal(statusField(log, 'CapAmb'), '0000000000000000');
    assert.equal(statusField(log, 'NoNewPrivs'), '1');
  });

  it('runs as a named user of the image: its uid, gid, supplementary groups and HOME, no capabilities', async () => {
    const log = await f.output('user-name', `${STATUS}; echo "home=$HOME"; hostname x 2>/dev/null || echo hostname-refused`, {
      image: 'users:1', user: 'app',
    });
    assert.equal(statusField(log, 'Uid'), '1000\t1000\t1000\t1000');
    assert.equal(statusField(log, 'Gid'), '1000\t1000\t1000\t1000');
    assert.equal(statusField(log, 'Groups'), '50');
    assert.equal(statusField(log, 'CapEff'), '0000000000000000');
    assert.equal(statusField(log, 'CapPrm'), '0000000000000000');
    assert.equal(statusField(log, 'CapBnd'), DEFAULT_CAPS_HEX);
    assert.match(log, /^home=\/home\/app$/m);
    assert.match(log, /hostname-refused/);
  });

  it('takes "name:group", "uid:gid" and a bare uid without passwd entry; the spec env keeps its HOME', async () => {
    const named = await f.output('user-group', STATUS, { image: 'users:1', user: 'app:staff' });
    assert.equal(statusField(named, 'Gid'), '50\t50\t50\t50');
    assert.equal(statusField(named, 'Groups'), '', 'an explicit group replaces the supplementary ones');
    const numeric = await f.output('user-ids', `${STATUS}; echo "home=$HOME"`, { user: '4321:8765', env: { HOME: '/data' } });
    assert.equal(statusField(numeric, 'Uid'), '4321\t4321\t4321\t4321');
    assert.equal(statusField(numeric, 'Gid'), '8765\t8765\t8765\t8765');
    assert.match(numeric, /^home=\/data$/m);
  });

  it('refuses an unknown user or group with a start error naming it, and leaves nothing behind', async () => {
    for (const [id, user, message] of [
      ['no-user', 'ghost', /user "ghost" not found in the image's \/etc\/passwd/],
      ['no-group', 'app:ghosts', /group "ghosts" not found in the image's \/etc\/group/],
    ] as const) {
      const spec = f.spec(id, 'true', { image: 'users:1', user });
      await assert.rejects(f.runtime.start(spec), (e: unknown) => e instanceof RuntimeError && e.code === 'StartFailed' && message.test(e.message));
      assert.equal(fs.existsSync(pidsDir(spec.id)), false);
    }
  });

  it('names the unknown user when the network setup failed only because the init had died of it', async () => {
    // An attach that outlasts the init (a loaded machine) fails as the real one does once the
    // namespace is gone. The real one works by system calls without yielding to the event loop,
    // so its failure comes before the runtime has read what the init said on its status pipe: this
    // one waits for the init's death the same way. The init's words are the reason to give.
    const network: NetworkAttacher = {
      prepare: () => ({ ip: '100.64.0.2', hostVeth: 'tvlate', settings: { bridge: 'tidelate', subnet: '100.64.0.0/24', gateway: '100.64.0.1', clusterCidr: '100.64.0.0/16' }, bindFiles: [] }),
      attach: async (pid) => {
        const deadline = Date.now() + 60_000;
        while (processStartTime(pid) !== undefined) {
          if (Date.now() > deadline) throw new Error('the init did not die of the unknown user within 60 s');
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // 5 ms, the event loop held
        }
        throw new Error(`ENOENT: no such file or directory, open '/proc/${pid}/ns/net'`);
      },
      release: async () => undefined,
    };
    const runtime = new LinuxRuntime({ stateDir: path.join(f.dir, 'late-network'), imageDir: f.imageDir, warmPool: 0, network });
    try {
      const spec = f.spec('late-network', 'true', { image: 'users:1', user: 'ghost', network: 'bridge' });
      await assert.rejects(runtime.start(spec), (e: unknown) => e instanceof RuntimeError && e.code === 'StartFailed' && /user "ghost" not found/.test(e.message));
      assert.equal(fs.existsSync(pidsDir(spec.id)), false);
    } finally {
      await runtime.close();
    }
  });

  it('binds files inside the root through the image\'s symlinks: an absolute one is followed inside the root, one at the target replaced', async () => {
    const hostDir = fs.mkdtempSync(path.join(f.dir, 'host-'));
    const source = path.join(f.dir, 'bound.txt');
    fs.writeFileSync(source, 'bound\n');
    // The image has HOST_DIR too (an absolute symlink's target must exist, in one tree or the other).
    await f.imageWith('links:1', {
      'etc/conf': { symlink: hostDir }, [`${hostDir.slice(1)}/.keep`]: '', 'etc/resolv.conf': { symlink: '/run/nowhere/resolv.conf' },
    });
    const log = await f.output('links', [
      'cat /etc/conf/app/x', `cat ${hostDir}/app/x`, '[ -L /etc/resolv.conf ] || cat /etc/resolv.conf', 'echo y > /etc/conf/app/x || echo refused',
    ].join('; '), {
      image: 'links:1', mounts: [
        { source, target: '/etc/conf/app/x', directory: false, readOnly: true },
        { source, target: '/etc/resolv.conf', directory: false, readOnly: false },
      ],
    });
    // /etc/conf -> HOST_DIR leads, inside the container, to HOST_DIR under its own root.
    assert.deepEqual(fs.readdirSync(hostDir), [], 'nothing made or mounted in the host\'s directory');
    assert.equal(log.match(/^bound$/gm)?.length, 3, log);
    assert.match(log, /refused/, 'read-only');
  });

  it('applies the default pids limit of 1024', async () => {
    const spec = f.spec('pids-default', 'sleep 30');
    await f.start(spec);
    assert.equal(fs.readFileSync(`${pidsDir(spec.id)}/pids.max`, 'utf8').trim(), '1024');
  });

  it('keeps a fork bomb inside its pids limit; the host still spawns; stop and remove leave nothing', async () => {
    const limit = 24;
    // Each bomb process forks the next two, then becomes a sleep holding its pid: the bomb fills
    // the limit and stays there (busybox sh exits when a fork fails, so the classic bomb collapses
    // once it hits the limit and leaves nothing to look at).
    const spec = f.spec('forkbomb', 'bomb() { bomb | bomb & exec sleep 3600; }; bomb', { limits: { cpuMillis: 200, memoryBytes: 64 * 2 ** 20, pids: limit } });
    await f.start(spec);
    const dir = pidsDir(spec.id);
    assert.equal(fs.readFileSync(`${dir}/pids.max`, 'utf8').trim(), String(limit));
    const held = await waitForPidsLimit(dir, limit);
    assert.ok(held.every((tasks) => tasks <= limit), `the container held ${held.join(', ')} tasks, limit ${limit}`);
    assert.match(await f.logOf(spec.id, /can't fork/), /can't fork/, 'the bomb saw its forks fail');
    assert.equal(execFileSync('sh', ['-c', 'echo spawned'], { encoding: 'utf8' }).trim(), 'spawned', 'the host is unaffected');
    await f.runtime.stop(spec.id, 0);
    await f.runtime.remove(spec.id);
    assert.deepEqual(processesInGroup(spec.id), [], 'no process of the container left');
    assert.equal(fs.existsSync(pidsDir(spec.id)), false, 'no cgroup left');
  });
});

/**
 * Waits until the kernel has refused a fork of the group for its pids limit (pids.events "max"
 * counts refusals, and a fork is refused only when the group is full), then answers pids.current
 * read while waiting and ten times after. pids.current counts every task charged to the group,
 * zombies included. Where the kernel keeps pids.peak (Linux 6.x), the high-water mark must be the
 * limit exactly: reached, never passed.
 */
async function waitForPidsLimit(dir: string, limit: number): Promise<number[]> {
  const read = (file: string) => fs.readFileSync(`${dir}/${file}`, 'utf8');
  const held: number[] = [];
  await waitFor(() => {
    held.push(Number(read('pids.current')));
    return Number(/^max (\d+)$/m.exec(read('pids.events'))?.[1] ?? 0) > 0;
  }, { what: `a fork refused at the pids limit of ${limit}`, detail: () => `pids.current ${read('pids.current').trim()}, events ${read('pids.events').trim()}` });
  for (let i = 0; i < 10; i++) held.push(Number(read('pids.current')));
  if (fs.existsSync(`${dir}/pids.peak`)) assert.equal(Number(read('pids.peak')), limit, 'the group reached its limit and never passed it');
  return held;
}

/** Host processes whose cgroup path names the container. */
function processesInGroup(id: string): number[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/${id}`);
    } catch {
      return false; // exited meanwhile
    }
  });
}
