/** The bind-mounted /etc files of bridge containers, against the recording Sys and a temporary root. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MS_BIND } from '@tide/syscall';
import { RecordingSys } from '@tide/syscall/testing';
import { mountBindFiles } from './bind-files.step';
import { InitConfig } from './init.config';

function withRoot(test: (config: InitConfig, dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-bind-'));
  try {
    const target = path.join(dir, 'rootfs');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(dir, 'hosts'), '100.64.3.2\tweb-1\n');
    test({
      hostname: 'web-1', logPath: `${dir}/log`, rootfs: { lowerdir: '/l', upperdir: `${dir}/u`, workdir: `${dir}/w`, target }, argv: ['sh'], env: [], workingDir: '/',
      bindFiles: [{ source: path.join(dir, 'hosts'), target: '/etc/hosts' }],
    }, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('mountBindFiles', () => {
  it('binds each file over its path inside the root, creating the mount point', () => {
    withRoot((config, dir) => {
      const sys = new RecordingSys();
      mountBindFiles(sys, config);
      assert.deepEqual(sys.calls, [{ call: 'mount', args: [path.join(dir, 'hosts'), path.join(dir, 'rootfs/etc/hosts'), null, MS_BIND, null] }]);
      assert.equal(fs.statSync(path.join(dir, 'rootfs/etc/hosts')).isFile(), true);
    });
  });

  it('replaces a symlink at the target instead of following it', () => {
    withRoot((config, dir) => {
      fs.mkdirSync(path.join(dir, 'rootfs/etc'));
      fs.symlinkSync('/run/somewhere/resolv.conf', path.join(dir, 'rootfs/etc/hosts'));
      mountBindFiles(new RecordingSys(), config);
      assert.equal(fs.lstatSync(path.join(dir, 'rootfs/etc/hosts')).isFile(), true);
    });
  });

  it('refuses an /etc that leads outside the root and touches nothing there', () => {
    withRoot((config, dir) => {
      fs.mkdirSync(path.join(dir, 'outside'));
      fs.symlinkSync(path.join(dir, 'outside'), path.join(dir, 'rootfs/etc'));
      const sys = new RecordingSys();
      assert.throws(() => mountBindFiles(sys, config), /\/etc leads outside the container's root/);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'outside')), []);
      assert.equal(sys.calls.length, 0);
    });
  });

  it('does nothing without bind files (host networking)', () => {
    withRoot((config) => {
      const sys = new RecordingSys();
      mountBindFiles(sys, { ...config, bindFiles: undefined });
      assert.equal(sys.calls.length, 0);
    });
  });
});
