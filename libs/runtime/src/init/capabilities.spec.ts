/** The exec init's privilege drop, recorded by the fake Sys (the real effect is in exec.spec and isolation.spec). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS,
} from '@tide/syscall';
import { RecordingSys } from '@tide/syscall/testing';
import { DEFAULT_CAPABILITY_MASK, capabilityMask, dropPrivileges } from './capabilities';
import { ExecFailure, enterWorkingDir, execUserProcess, resolveExecutable } from './user-process';

const LAST_CAP = 40;
const app = { uid: 1000, gid: 1000, groups: [50], home: '/home/app' };

describe('dropPrivileges', () => {
  it("is Docker's default set: 0xa80425fb", () => {
    assert.equal(DEFAULT_CAPABILITY_MASK, 0xa80425fbn);
    assert.equal(capabilityMask(['CHOWN', 'SETFCAP']), (1n << 0n) | (1n << 31n));
  });

  it('changes groups, cuts the bounding set, then the uid under keepcaps, then capset, ambient, no_new_privs', () => {
    const sys = new RecordingSys();
    dropPrivileges(sys, app, LAST_CAP);
    const steps = sys.calls.map((c) => (c.call === 'prctlValue' ? `prctl ${c.args[0]} ${c.args[1]}` : c.call));
    const drops = sys.calls.filter((c) => c.call === 'prctlValue' && c.args[0] === PR_CAPBSET_DROP).map((c) => c.args[1] as number);
    // Every capability the kernel knows but the 14 kept ones leaves the bounding set.
    assert.equal(drops.length, LAST_CAP + 1 - 14);
    assert.ok(drops.every((cap) => ((DEFAULT_CAPABILITY_MASK >> BigInt(cap)) & 1n) === 0n));
    const rest = steps.filter((s) => !s.startsWith(`prctl ${PR_CAPBSET_DROP} `));
    assert.deepEqual(rest, [
      'setgroups', 'setresgid', `prctl ${PR_SET_KEEPCAPS} 1`, 'setresuid', `prctl ${PR_SET_KEEPCAPS} 0`, 'capset',
      `prctl ${PR_CAP_AMBIENT} ${PR_CAP_AMBIENT_CLEAR_ALL}`, `prctl ${PR_SET_NO_NEW_PRIVS} 1`,
    ]);
    // The bounding set is cut while the thread is still uid 0 (CAP_SETPCAP), i.e. before setresuid.
    assert.ok(steps.lastIndexOf(`prctl ${PR_CAPBSET_DROP} ${drops.at(-1)}`) < steps.indexOf('setresuid'));
    assert.deepEqual(sys.calls.find((c) => c.call === 'setgroups')!.args, [[50]]);
    assert.deepEqual(sys.calls.find((c) => c.call === 'setresuid')!.args, [1000, 1000, 1000]);
    assert.deepEqual(sys.calls.find((c) => c.call === 'capset')!.args, [{ effective: DEFAULT_CAPABILITY_MASK, permitted: DEFAULT_CAPABILITY_MASK, inheritable: 0n }]);
  });

  it('runs the user process: lookups and chdir first, then the drop, fds 0-2 kept, execve last', () => {
    const sys = new RecordingSys();
    // The fake's execve throws, which execUserProcess reports as a failed exec (126).
    assert.throws(() => execUserProcess(sys, { argv: ['/bin/sh', '-c', 'true'], env: ['PATH=/bin'], workingDir: '/tmp' }),
      (e: unknown) => e instanceof ExecFailure && e.exitCode === 126);
    const names = sys.names();
    assert.equal(names[0], 'chdir');
    assert.ok(names.indexOf('setCloexec') > names.lastIndexOf('prctlValue'));
    assert.deepEqual(sys.calls.filter((c) => c.call === 'setCloexec').map((c) => c.args), [[0, false], [1, false], [2, false]]);
    const [file, argv, env] = sys.calls.at(-1)!.args as [string, string[], string[]];
    assert.equal(sys.calls.at(-1)!.call, 'execve');
    assert.deepEqual([file, argv], ['/bin/sh', ['/bin/sh', '-c', 'true']]);
    assert.equal(env[0], 'PATH=/bin');
    assert.match(env[1], /^HOME=/, "HOME from the user's passwd entry");
  });
});

describe('the working directory (CVE-2024-21626 class)', () => {
  it('is refused when getcwd finds it outside the root, naming it', () => {
    const sys = new RecordingSys();
    sys.cwd = '(unreachable)/sys/fs/cgroup';
    assert.throws(() => enterWorkingDir(sys, '/proc/self/fd/7'), /working directory \/proc\/self\/fd\/7 is outside the container's root/);
    assert.deepEqual(sys.names(), ['chdir', 'getcwd']);
  });
  it('is accepted inside the root', () => {
    const sys = new RecordingSys();
    sys.cwd = '/app';
    enterWorkingDir(sys, '/app');
  });
});

describe('the command on PATH', () => {
  it('is the first regular executable file, skipping directories and non-executables', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-path-'));
    try {
      fs.mkdirSync(`${dir}/a/tool`, { recursive: true });
      fs.mkdirSync(`${dir}/b`);
      fs.writeFileSync(`${dir}/b/tool`, '', { mode: 0o644 });
      fs.mkdirSync(`${dir}/c`);
      fs.writeFileSync(`${dir}/c/tool`, '', { mode: 0o755 });
      assert.equal(resolveExecutable('tool', [`PATH=${dir}/a:${dir}/b:${dir}/c`]), `${dir}/c/tool`);
      assert.equal(resolveExecutable('/x/y', []), '/x/y');
      assert.throws(() => resolveExecutable('nope', [`PATH=${dir}/a`]), (e: unknown) => e instanceof ExecFailure && e.exitCode === 127 && /"nope" not found/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
