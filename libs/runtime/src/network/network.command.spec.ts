/** Both halves of a container's wiring in one process: read-only `ip` commands (nothing is created). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NetworkError, hasTool, ipBatchThenInNetnsOf, run } from './network.command';

describe('ipBatchThenInNetnsOf', { skip: !(hasTool('ip') && hasTool('nsenter')) && 'no iproute2 or nsenter' }, () => {
  it('runs the node\'s commands, then those in the namespace of a process', async () => {
    const out = await ipBatchThenInNetnsOf(['link show lo'], process.pid, ['addr show lo']);
    assert.match(out, /lo: <LOOPBACK/);
    assert.match(out, /inet 127\.0\.0\.1/, 'the second half ran');
  });

  it('says what failed and why, in either half', async () => {
    await assert.rejects(ipBatchThenInNetnsOf(['link show tide-nosuchdev'], process.pid, ['addr show lo']),
      (e: unknown) => e instanceof NetworkError && /node's network namespace:\nlink show tide-nosuchdev\n/.test(e.message) && /does not exist/.test(e.message));
    await assert.rejects(ipBatchThenInNetnsOf(['link show lo'], process.pid, ['link show tide-nosuchdev']),
      (e: unknown) => e instanceof NetworkError && new RegExp(`in that of process ${process.pid}:\\nlink show tide-nosuchdev`).test(e.message));
  });
});

describe('run', () => {
  it('feeds stdin, returns stdout, and names the exit status and stderr of a failure', async () => {
    assert.equal(await run('sh', ['-c', 'tr a-z A-Z'], 'spawned without a fork\n'), 'SPAWNED WITHOUT A FORK\n');
    await assert.rejects(run('sh', ['-c', 'echo broken >&2; exit 3']), (e: unknown) => e instanceof NetworkError && /failed \(exit 3\): broken/.test(e.message));
    await assert.rejects(run('sh', ['-c', 'kill -TERM $$']), (e: unknown) => e instanceof NetworkError && /failed \(signal SIGTERM\)/.test(e.message));
  });

  it('runs many at once, each with its own output', async () => {
    const outputs = await Promise.all(Array.from({ length: 20 }, (_, i) => run('sh', ['-c', `echo ${i}`])));
    assert.deepEqual(outputs, Array.from({ length: 20 }, (_, i) => `${i}\n`));
  });
});
