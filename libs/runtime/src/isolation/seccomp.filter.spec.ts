/**
 * The compiled filter, run by a small classic-BPF interpreter over every system call number of both
 * architectures: what the profile allows is allowed, the rest refused with EPERM (ENOSYS for clone3
 * and unknown numbers), argument rules hold, a foreign ABI is killed. No kernel needed.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ENOSYS, EPERM, Instruction, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS, SeccompError, compileDefaultProfile,
  encodeProgram,
} from './seccomp.filter';
import { ALLOWED_SYSCALLS, ARCH_ALLOWED_SYSCALLS, ARGUMENT_RULES, ENOSYS_SYSCALLS } from './seccomp.profile';
import { AUDIT_ARCH, SeccompArch, X32_SYSCALL_BIT, syscallNumbers } from './syscall.numbers';

interface Call {
  nr: number;
  arch: number;
  args?: bigint[];
}

/** Runs the program as the kernel would; also says whether it read anything but nr and arch. */
function run(program: Instruction[], call: Call): { result: number; readArgs: boolean } {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(call.nr >>> 0, 0);
  data.writeUInt32LE(call.arch >>> 0, 4);
  (call.args ?? []).forEach((arg, i) => data.writeBigUInt64LE(arg, 16 + i * 8));
  let a = 0;
  let readArgs = false;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc];
    if (code === 0x20) {
      a = data.readUInt32LE(k);
      readArgs ||= k >= 16;
    } else if (code === 0x06) return { result: k >>> 0, readArgs };
    else if (code === 0x05) pc += k;
    else if (code === 0x15) pc += a === k >>> 0 ? jt : jf;
    else if (code === 0x35) pc += a >>> 0 >= k >>> 0 ? jt : jf;
    else if (code === 0x45) pc += (a & k) !== 0 ? jt : jf;
    else throw new Error(`opcode 0x${code.toString(16)} at ${pc}`);
  }
  throw new Error('fell off the end of the program');
}

const ALLOW = SECCOMP_RET_ALLOW;
const DENY = (SECCOMP_RET_ERRNO | EPERM) >>> 0;
const NOSYS = (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;
const CLONE_NEWUSER = 0x10000000n;
const CLONE_THREAD_FLAGS = 0x3d0f00n; // what pthread_create passes: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|...

for (const arch of ['x64', 'arm64'] as SeccompArch[]) {
  describe(`default seccomp filter, ${arch}`, () => {
    const program = compileDefaultProfile(arch);
    const numbers = syscallNumbers(arch);
    const native = AUDIT_ARCH[arch];
    const verdict = (name: string, args?: bigint[]) => run(program, { nr: numbers.get(name)!, arch: native, args }).result;

    it('fits the kernel: under 4096 instructions, 8 bytes each', () => {
      assert.ok(program.length < 4096, `${program.length} instructions`);
      assert.equal(encodeProgram(program).length, program.length * 8);
    });

    it('allows exactly the profile, refuses everything else with EPERM, reading no argument on the way', () => {
      const allowed = new Set([...ALLOWED_SYSCALLS, ...ARCH_ALLOWED_SYSCALLS[arch]]);
      for (const [name, nr] of numbers) {
        if (name in ARGUMENT_RULES || ENOSYS_SYSCALLS.includes(name)) continue;
        const { result, readArgs } = run(program, { nr, arch: native });
        assert.equal(result, allowed.has(name) ? ALLOW : DENY, `${name} (${nr})`);
        assert.equal(readArgs, false, `${name}: only nr and arch on the way, so the kernel can cache the verdict`);
      }
    });

    it('refuses the calls the issue names', () => {
      for (const name of ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'keyctl', 'add_key', 'request_key', 'bpf',
        'perf_event_open', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'userfaultfd', 'kexec_load', 'init_module',
        'reboot', 'open_by_handle_at', 'fsopen', 'move_mount', 'pidfd_getfd']) {
        assert.equal(verdict(name), DENY, name);
      }
    });

    it('lets clone make threads and processes but no namespace (CLONE_NEWUSER, NEWNS, NEWNET...)', () => {
      assert.equal(verdict('clone', [0x11n]), ALLOW, 'fork-like (SIGCHLD)');
      assert.equal(verdict('clone', [CLONE_THREAD_FLAGS]), ALLOW, 'a thread');
      assert.equal(verdict('clone', [CLONE_NEWUSER | 0x11n]), DENY, 'a user namespace');
      for (const flag of [0x20000n, 0x2000000n, 0x4000000n, 0x8000000n, 0x20000000n, 0x40000000n]) {
        assert.equal(verdict('clone', [flag]), DENY, `flag 0x${flag.toString(16)}`);
      }
      assert.equal(verdict('clone3'), NOSYS, 'clone3: ENOSYS so that libc falls back to clone');
    });

    it('allows the personalities Docker allows and sockets but AF_VSOCK', () => {
      for (const value of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.equal(verdict('personality', [value]), ALLOW, `0x${value.toString(16)}`);
      for (const value of [1n, 0x400000n, 0x100000000n]) assert.equal(verdict('personality', [value]), DENY, `0x${value.toString(16)}`);
      assert.equal(verdict('socket', [2n]), ALLOW, 'AF_INET');
      assert.equal(verdict('socket', [40n]), DENY, 'AF_VSOCK');
    });

    it('answers ENOSYS above the known numbers and kills a foreign ABI', () => {
      const highest = Math.max(...numbers.values());
      assert.equal(run(program, { nr: highest + 1, arch: native }).result, NOSYS);
      assert.equal(run(program, { nr: 1000, arch: native }).result, NOSYS);
      assert.equal(run(program, { nr: numbers.get('getpid')!, arch: 0x40000003 }).result, SECCOMP_RET_KILL_PROCESS, 'i386');
      if (arch === 'x64') assert.equal(run(program, { nr: X32_SYSCALL_BIT | 39, arch: native }).result, DENY, 'x32 getpid');
    });
  });
}

describe('default seccomp filter elsewhere', () => {
  it('refuses an architecture it has no table for, saying what to do', () => {
    assert.throws(() => compileDefaultProfile('riscv64'), (error: Error) =>
      error instanceof SeccompError && /riscv64/.test(error.message) && /seccompProfile\.type: Unconfined/.test(error.message));
  });
});
