/** The init's kernel calls, in order, recorded by the fake Sys (the real ones run in linux.runtime.spec). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MNT_DETACH, MS_BIND, MS_NODEV, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT } from '@tide/syscall';
import { RecordingSys } from '@tide/syscall/dist/testing';
import { InitConfig } from './init.config';
import { CONTAINER_DEVICES, INIT_STEPS, prepareRoot } from './init.steps';
import { ExecFailure, resolveExecutable } from './user-process';

/** A temporary new root; `extra` files (relative, "dir/" for a directory) stand in for proc and sysfs entries. */
function withRoot(test: (config: InitConfig, dir: string) => void, extra: string[] = []): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-init-'));
  try {
    const rootfs = { lowerdir: '/l2:/l1', upperdir: `${dir}/upper`, workdir: `${dir}/work`, target: `${dir}/rootfs` };
    fs.mkdirSync(rootfs.target);
    for (const entry of extra) {
      const file = path.join(rootfs.target, entry);
      if (entry.endsWith('/')) fs.mkdirSync(file, { recursive: true });
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, '');
      }
    }
    test({ hostname: 'web-1', logPath: `${dir}/log`, rootfs, argv: ['sh'], env: ['PATH=/bin'], workingDir: '/' }, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('container init steps', () => {
  it('makes mounts private first, mounts inside the new root, pivots, then sets the hostname', () => {
    withRoot((config) => {
      const sys = new RecordingSys();
      prepareRoot(sys, config);
      const root = config.rootfs.target;
      const mounts = sys.calls.filter((c) => c.call === 'mount').map((c) => c.args);
      // First call of all: "/" recursively private, before anything could propagate to the host.
      assert.deepEqual(sys.calls[0], { call: 'mount', args: [null, '/', null, MS_REC | MS_PRIVATE, null] });
      // nodev: with CAP_MKNOD kept, a device node made in the container must not open a host device.
      assert.deepEqual(mounts[1], ['overlay', root, 'overlay', MS_NODEV, 'lowerdir=/l2:/l1,upperdir=' + config.rootfs.upperdir + ',workdir=' + config.rootfs.workdir]);
      // Every other mount lands inside the new root, and all of them happen before pivot_root.
      for (const [, target] of mounts.slice(1)) assert.ok(String(target).startsWith(root), `${target} inside the root`);
      const binds = mounts.filter((m) => m[3] === MS_BIND).map((m) => m[0]);
      assert.deepEqual(binds, CONTAINER_DEVICES.map((d) => `/dev/${d}`));
      assert.deepEqual(sys.names().slice(-5), ['chdir', 'pivotRoot', 'umount2', 'chdir', 'sethostname']);
      assert.deepEqual(sys.calls.find((c) => c.call === 'umount2')!.args, ['.', MNT_DETACH]);
      assert.deepEqual(sys.calls.at(-1)!.args, ['web-1']);
    });
  });

  it('names its steps in the order it runs them', () => {
    assert.deepEqual(INIT_STEPS.map((s) => s.name), [
      'makePrivate', 'mountRoot', 'mountProc', 'mountDev', 'mountDevPts', 'mountMqueue', 'mountSys', 'maskPaths',
      'readOnlyPaths', 'mountBindFiles', 'readOnlyRoot', 'pivotRoot', 'setHostname',
    ]);
  });

  it('gives the container its own devpts (tty group of the image) and mqueue, with /dev/ptmx pointing into it', () => {
    withRoot((config) => {
      fs.writeFileSync(path.join(config.rootfs.target, 'etc/group'), 'root:x:0:\ntty:x:5:\n');
      const sys = new RecordingSys();
      prepareRoot(sys, config);
      const dev = path.join(config.rootfs.target, 'dev');
      const mounts = sys.calls.filter((c) => c.call === 'mount').map((c) => c.args);
      const devpts = mounts.find((m) => m[2] === 'devpts')!;
      assert.deepEqual([devpts[1], devpts[4]], [`${dev}/pts`, 'newinstance,ptmxmode=0666,mode=0620,gid=5']);
      assert.equal(fs.readlinkSync(`${dev}/ptmx`), 'pts/ptmx');
      assert.equal(mounts.find((m) => m[2] === 'mqueue')?.[1], `${dev}/mqueue`);
    }, ['etc/group']);
  });

  it('masks what exists of the OCI masked paths and makes the read-only paths read-only', () => {
    withRoot((config) => {
      fs.writeFileSync(path.join(config.rootfs.target, 'etc/group'), 'root:x:0:\n');
      const sys = new RecordingSys();
      prepareRoot(sys, config);
      const root = config.rootfs.target;
      const mounts = sys.calls.filter((c) => c.call === 'mount').map((c) => c.args);
      const onto = (target: string) => mounts.filter((m) => m[1] === path.join(root, target));
      // A file gets /dev/null, a directory an empty read-only tmpfs, a missing entry nothing.
      assert.deepEqual(onto('proc/kcore'), [['/dev/null', `${root}/proc/kcore`, null, MS_BIND, null]]);
      assert.equal(onto('proc/acpi')[0][2], 'tmpfs');
      assert.ok((onto('proc/acpi')[0][3] as number) & MS_RDONLY);
      assert.equal(onto('sys/firmware')[0][2], 'tmpfs');
      assert.deepEqual(onto('proc/timer_stats'), [], 'absent here: skipped');
      // Read-only: bind onto itself, then a read-only bind remount (which touches this mount only).
      const sysctl = onto('proc/sys');
      assert.equal(sysctl.length, 2);
      assert.equal(sysctl[0][0], `${root}/proc/sys`);
      assert.ok((sysctl[1][3] as number) & MS_REMOUNT && (sysctl[1][3] as number) & MS_RDONLY);
      assert.equal(onto('proc/sysrq-trigger').length, 2);
      // Every masked and read-only mount precedes pivot_root; without readOnlyRootFilesystem the root stays writable.
      assert.ok(sys.names().lastIndexOf('mount') < sys.names().indexOf('pivotRoot'));
      assert.equal(mounts.filter((m) => m[1] === root && (m[3] as number) & MS_REMOUNT).length, 0);
      assert.equal(mounts.find((m) => m[2] === 'devpts')?.[4], 'newinstance,ptmxmode=0666,mode=0620', 'no tty group, no gid');
    }, ['proc/kcore', 'proc/keys', 'proc/acpi/', 'proc/sys/', 'proc/sysrq-trigger', 'sys/firmware/', 'etc/']);
  });

  it('remounts the root read-only after every other mount when asked to', () => {
    withRoot((config) => {
      const sys = new RecordingSys();
      prepareRoot(sys, { ...config, readOnlyRootFilesystem: true });
      const root = config.rootfs.target;
      const mounts = sys.calls.filter((c) => c.call === 'mount').map((c) => c.args);
      assert.deepEqual(mounts.at(-1), [null, root, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NODEV, null]);
      assert.equal(sys.names()[sys.names().indexOf('pivotRoot') - 2], 'mount', 'the last mount before pivot_root');
    });
  });

  it('says which step failed', () => {
    withRoot((config) => {
      const sys = new RecordingSys();
      sys.pivotRoot = () => { throw new Error('pivot_root: EINVAL'); };
      assert.throws(() => prepareRoot(sys, config), /step pivotRoot: pivot_root: EINVAL/);
      assert.equal(sys.names().includes('sethostname'), false);
    });
  });

  it('resolves argv[0] on PATH, skipping directories and non-executables', () => {
    withRoot((_config, dir) => {
      fs.mkdirSync(`${dir}/a/tool`, { recursive: true });
      fs.mkdirSync(`${dir}/b`);
      fs.writeFileSync(`${dir}/b/tool`, '', { mode: 0o644 });
      fs.mkdirSync(`${dir}/c`);
      fs.writeFileSync(`${dir}/c/tool`, '', { mode: 0o755 });
      assert.equal(resolveExecutable('tool', [`PATH=${dir}/a:${dir}/b:${dir}/c`]), `${dir}/c/tool`);
      assert.equal(resolveExecutable('/x/y', []), '/x/y');
      assert.throws(() => resolveExecutable('nope', [`PATH=${dir}/a`]), (e: unknown) => e instanceof ExecFailure && e.exitCode === 127 && /"nope" not found/.test(e.message));
    });
  });
});
