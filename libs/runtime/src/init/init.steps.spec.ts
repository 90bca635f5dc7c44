/** The init's kernel calls, in order, recorded by the fake Sys (the real ones run in linux.runtime.spec). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MNT_DETACH, MS_BIND, MS_PRIVATE, MS_REC } from '@tide/syscall';
import { RecordingSys } from '@tide/syscall/dist/testing';
import { InitConfig } from './init.config';
import { CONTAINER_DEVICES, INIT_STEPS, prepareRoot, resolveExecutable } from './init.steps';

function withRoot(test: (config: InitConfig, dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-init-'));
  try {
    const rootfs = { lowerdir: '/l2:/l1', upperdir: `${dir}/upper`, workdir: `${dir}/work`, target: `${dir}/rootfs` };
    fs.mkdirSync(rootfs.target);
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
      assert.deepEqual(mounts[1], ['overlay', root, 'overlay', 0, 'lowerdir=/l2:/l1,upperdir=' + config.rootfs.upperdir + ',workdir=' + config.rootfs.workdir]);
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
    assert.deepEqual(INIT_STEPS.map((s) => s.name), ['makePrivate', 'mountRoot', 'mountProc', 'mountDev', 'mountSys', 'pivotRoot', 'setHostname']);
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
      assert.throws(() => resolveExecutable('nope', [`PATH=${dir}/a`]), /"nope" not found/);
    });
  });
});
