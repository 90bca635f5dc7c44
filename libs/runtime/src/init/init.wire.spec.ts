/** The bytes the native init reads (native/init/config.c): field order, counts, flags and the program. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { RuntimeError } from '../runtime.types';
import { DEFAULT_CAPABILITY_MASK } from './capabilities';
import { InitConfig } from './init.config';
import { WIRE_FORMAT, encodeInitConfig } from './init.wire';

const config: InitConfig = {
  hostname: 'web-1', logPath: '/state/c/log',
  rootfs: { lowerdir: '/l2:/l1', upperdir: '/state/c/upper', workdir: '/state/c/work', target: '/state/c/rootfs' },
  argv: ['sh', '-c', 'echo hi'], env: ['PATH=/bin', 'A=1'], workingDir: '/app',
};

/** The strings before the program, read in config.c's order, and the program's bytes. */
function decode(bytes: Buffer): { strings: string[]; program: Buffer } {
  assert.equal(bytes.readUInt32LE(0), bytes.length - 4, 'the length counts what follows it');
  const body = bytes.subarray(4);
  const strings: string[] = [];
  let at = 0;
  const next = (): string => {
    const nul = body.indexOf(0, at);
    strings.push(body.subarray(at, nul).toString());
    at = nul + 1;
    return strings.at(-1)!;
  };
  const times = (count: string, each: number) => Array.from({ length: Number(count) * each }, next);
  Array.from({ length: 9 }, next); // format ... capabilities
  times(next(), 1); // argv
  times(next(), 1); // env
  times(next(), 3); // binds
  const programLength = Number(next());
  assert.equal(body.length - at, programLength, 'the program ends the config');
  return { strings, program: body.subarray(at) };
}

describe('the init config on the wire', () => {
  it('is the fields in their order, NUL-terminated, after a length', () => {
    const { strings, program } = decode(encodeInitConfig(config));
    assert.deepEqual(strings, [
      WIRE_FORMAT, 'web-1', '/state/c/log', '/state/c/rootfs', 'lowerdir=/l2:/l1,upperdir=/state/c/upper,workdir=/state/c/work', '/app', '', '0',
      DEFAULT_CAPABILITY_MASK.toString(), '3', 'sh', '-c', 'echo hi', '2', 'PATH=/bin', 'A=1', '0', '0',
    ]);
    assert.equal(program.length, 0);
  });

  it('carries the user, the flags, the bind files and the seccomp program as raw bytes', () => {
    const seccomp = Buffer.from([6, 0, 0, 0, 0, 0, 0xff, 0x7f]); // one instruction: RET ALLOW
    const { strings, program } = decode(encodeInitConfig({
      ...config, user: 'app:staff', readOnlyRootFilesystem: true, trace: true, stdio: { stdin: true, tty: true }, seccomp,
      bindFiles: [{ source: '/state/c/etc/hosts', target: '/etc/hosts' }, { source: '/vol', target: '/data', directory: true, readOnly: true }],
    }));
    assert.equal(strings[6], 'app:staff');
    assert.equal(strings[7], String(1 | 2 | 8), 'read-only root, trace, terminal');
    assert.deepEqual(strings.slice(-8), ['2', '/state/c/etc/hosts', '/etc/hosts', '0', '/vol', '/data', String(1 | 2), '8']);
    assert.deepEqual(program, seccomp);
  });

  it('gives stdin without a terminal a pipe', () => {
    assert.equal(decode(encodeInitConfig({ ...config, stdio: { stdin: true, tty: false } })).strings[7], '4');
  });

  it('refuses a string holding a NUL, naming its field', () => {
    assert.throws(() => encodeInitConfig({ ...config, env: ['PATH=/bin', 'A=x\0y'] }),
      (e: unknown) => e instanceof RuntimeError && e.code === 'InvalidSpec' && /^env\[1\] holds a NUL byte/.test(e.message));
  });
});
