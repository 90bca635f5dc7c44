/** Tools run without forking the agent: input, output, exit status (nothing is created). */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NetworkError, run } from './network.command';

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
