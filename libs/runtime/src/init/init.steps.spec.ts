/** The init's kernel calls, in order, recorded by the fake Sys (the real ones run in linux.runtime.spec). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT } from '@tide/syscall';
import { RecordingSys } from '@tide/syscall/testing';
import { InitConfig } from './init.config';
import { CONTAINER_DEVICES, ROOT_STEPS, STAGE_STEPS, Stage, prepareRoot, prepareStage } from './init.steps';
import { ExecFailure, resolveExecutable } from './user-process';

interface Dirs {
  config: InitConfig;
  dir: string;
  stage: string;
}

/** A temporary stage and new root. `staged` entries (relative to the stage, "dir/" for a directory)
 *  stand in for proc and sysfs entries; `inRoot` for the image's files. */
function withRoot(test: (dirs: Dirs) => void, staged: string[] = [], inRoot: string[] = []): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-init-'));
  try {
    const rootfs = { lowerdir: '/l2:/l1', upperdir: `${dir}/upper`, workdir: `${dir}/work`, target: `${dir}/rootfs` };
    const stage = `${dir}/stage`;
    fs.mkdirSync(rootfs.target);
    fs.mkdirSync(stage);
    const create = (base: string, entry: string) => {
      const file = path.join(base, entry);
      if (entry.endsWith('/')) fs.mkdirSync(file, { recursive: true });
      else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, '');
      }
    };
    staged.forEach((entry) => create(stage, entry));
    inRoot.forEach((entry) => create(rootfs.target, entry));
    test({ config: { hostname: 'web-1', logPath: `${dir}/log`, rootfs, argv: ['sh'], env: ['PATH=/bin'], workingDir: '/' }, dir, stage });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mountsOf = (sys: RecordingSys) => sys.calls.filter((c) => c.call === 'mount').map((c) => c.args);

/** Stage, then root, as the init runs them; the calls of each apart. */
function runBoth(config: InitConfig, stageDir: string): { stage: RecordingSys; root: RecordingSys; staged: Stage } {
  const stage = new RecordingSys();
  const staged = prepareStage(stage, stageDir);
  const root = new RecordingSys();
  prepareRoot(root, config, staged);
  return { stage, root, staged };
}

describe('container init steps', () => {
  it('stages /proc, /dev and /sys under a private tmpfs before the container is known', () => {
    withRoot(({ stage }) => {
      const sys = new RecordingSys();
      prepareStage(sys, stage);
      const mounts = mountsOf(sys);
      // First call of all: "/" recursively private, before anything could propagate to the host.
      assert.deepEqual(sys.calls[0], { call: 'mount', args: [null, '/', null, MS_REC | MS_PRIVATE, null] });
      assert.deepEqual(mounts[1].slice(0, 3), ['tmpfs', stage, 'tmpfs']);
      for (const [, target] of mounts.slice(1)) assert.ok(String(target).startsWith(stage), `${target} inside the stage`);
      assert.deepEqual(mounts.find((m) => m[2] === 'proc')?.[1], `${stage}/proc`);
      const binds = mounts.filter((m) => m[3] === MS_BIND).map((m) => m[0]);
      assert.deepEqual(binds, CONTAINER_DEVICES.map((d) => `/dev/${d}`));
      assert.equal(mounts.find((m) => m[2] === 'mqueue')?.[1], `${stage}/dev/mqueue`);
      assert.equal(fs.readlinkSync(`${stage}/dev/ptmx`), 'pts/ptmx');
      assert.equal(sys.names().includes('pivotRoot'), false);
    });
  });

  it('mounts the overlay, moves the staged trees into it, pivots, then sets the hostname', () => {
    withRoot(({ config, stage }) => {
      const { root } = runBoth(config, stage);
      const target = config.rootfs.target;
      const mounts = mountsOf(root);
      // nodev: with CAP_MKNOD kept, a device node made in the container must not open a host device.
      assert.deepEqual(mounts[0], ['overlay', target, 'overlay', MS_NODEV, `lowerdir=/l2:/l1,upperdir=${config.rootfs.upperdir},workdir=${config.rootfs.workdir}`]);
      assert.deepEqual(mounts.slice(1, 4), ['proc', 'dev', 'sys'].map((tree) => [`${stage}/${tree}`, `${target}/${tree}`, null, MS_MOVE, null]));
      for (const [, to] of mounts) assert.ok(String(to).startsWith(target), `${to} inside the root`);
      assert.deepEqual(root.names().slice(-5), ['chdir', 'pivotRoot', 'umount2', 'chdir', 'sethostname']);
      assert.deepEqual(root.calls.find((c) => c.call === 'umount2')!.args, ['.', MNT_DETACH]);
      assert.deepEqual(root.calls.at(-1)!.args, ['web-1']);
    });
  });

  it('names its steps in the order it runs them', () => {
    assert.deepEqual(STAGE_STEPS.map((s) => s.name), [
      'makePrivate', 'mountStage', 'mountProc', 'mountDev', 'mountMqueue', 'mountSys', 'maskPaths', 'readOnlyPaths',
    ]);
    assert.deepEqual(ROOT_STEPS.map((s) => s.name), [
      'mountRoot', 'moveStaged', 'mountDevPts', 'mountBindFiles', 'readOnlyRoot', 'pivotRoot', 'setHostname',
    ]);
  });

  it('gives the container its own devpts, owned by the tty group of the image', () => {
    withRoot(({ config, stage }) => {
      fs.writeFileSync(path.join(config.rootfs.target, 'etc/group'), 'root:x:0:\ntty:x:5:\n');
      const devpts = mountsOf(runBoth(config, stage).root).find((m) => m[2] === 'devpts')!;
      assert.deepEqual([devpts[1], devpts[4]], [`${config.rootfs.target}/dev/pts`, 'newinstance,ptmxmode=0666,mode=0620,gid=5']);
    }, [], ['etc/group']);
  });

  it('masks what exists of the OCI masked paths and makes the read-only paths read-only', () => {
    withRoot(({ config, stage }) => {
      const { stage: staging, root } = runBoth(config, stage);
      const mounts = mountsOf(staging);
      const onto = (target: string) => mounts.filter((m) => m[1] === path.join(stage, target));
      // A file gets /dev/null, a directory an empty read-only tmpfs, a missing entry nothing.
      assert.deepEqual(onto('proc/kcore'), [['/dev/null', `${stage}/proc/kcore`, null, MS_BIND, null]]);
      assert.equal(onto('proc/acpi')[0][2], 'tmpfs');
      assert.ok((onto('proc/acpi')[0][3] as number) & MS_RDONLY);
      assert.equal(onto('sys/firmware')[0][2], 'tmpfs');
      assert.deepEqual(onto('proc/timer_stats'), [], 'absent here: skipped');
      // Read-only: bind onto itself, then a read-only bind remount (which touches this mount only).
      const sysctl = onto('proc/sys');
      assert.equal(sysctl.length, 2);
      assert.equal(sysctl[0][0], `${stage}/proc/sys`);
      assert.ok((sysctl[1][3] as number) & MS_REMOUNT && (sysctl[1][3] as number) & MS_RDONLY);
      assert.equal(onto('proc/sysrq-trigger').length, 2);
      // Without readOnlyRootFilesystem the root stays writable; no tty group in the image, no gid.
      assert.equal(mountsOf(root).filter((m) => m[1] === config.rootfs.target && (m[3] as number) & MS_REMOUNT).length, 0);
      assert.equal(mountsOf(root).find((m) => m[2] === 'devpts')?.[4], 'newinstance,ptmxmode=0666,mode=0620', 'no tty group, no gid');
    }, ['proc/kcore', 'proc/keys', 'proc/acpi/', 'proc/sys/', 'proc/sysrq-trigger', 'sys/firmware/'], ['etc/']);
  });

  it('moves only what was mounted: a refused sysfs leaves /sys an empty directory', () => {
    withRoot(({ config, stage }) => {
      const sys = new RecordingSys();
      const mount = sys.mount.bind(sys);
      sys.mount = (source, target, fstype, flags, data) => {
        if (fstype === 'sysfs') throw new Error('mount: EPERM');
        mount(source, target, fstype, flags, data);
      };
      const staged = prepareStage(sys, stage);
      const root = new RecordingSys();
      prepareRoot(root, config, staged);
      assert.deepEqual(mountsOf(root).filter((m) => m[3] === MS_MOVE).map((m) => m[0]), [`${stage}/proc`, `${stage}/dev`]);
      assert.ok(fs.statSync(`${config.rootfs.target}/sys`).isDirectory());
    });
  });

  it('remounts the root read-only after every other mount when asked to', () => {
    withRoot(({ config, stage }) => {
      const { root } = runBoth({ ...config, readOnlyRootFilesystem: true }, stage);
      const mounts = mountsOf(root);
      assert.deepEqual(mounts.at(-1), [null, config.rootfs.target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NODEV, null]);
      assert.equal(root.names()[root.names().indexOf('pivotRoot') - 2], 'mount', 'the last mount before pivot_root');
    });
  });

  it('says which step failed', () => {
    withRoot(({ config, stage }) => {
      const staged = prepareStage(new RecordingSys(), stage);
      const sys = new RecordingSys();
      sys.pivotRoot = () => { throw new Error('pivot_root: EINVAL'); };
      assert.throws(() => prepareRoot(sys, config, staged), /step pivotRoot: pivot_root: EINVAL/);
      assert.equal(sys.names().includes('sethostname'), false);
    });
  });

  it('resolves argv[0] on PATH, skipping directories and non-executables', () => {
    withRoot(({ dir }) => {
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
