import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ExitFacts, backoffDelayMs, exitReason, nextConsecutiveFailures, shouldRestart } from './restart.policy';

describe('restart policy', () => {
  const ok: ExitFacts = { code: 0, signal: null, oomKilled: false };
  const failed: ExitFacts = { code: 1, signal: null, oomKilled: false };
  const oom: ExitFacts = { code: null, signal: 'SIGKILL', oomKilled: true };
  const table: [string, 'Always' | 'OnFailure' | 'Never', ExitFacts, boolean][] = [
    ['Always restarts a success', 'Always', ok, true],
    ['Always restarts a failure', 'Always', failed, true],
    ['OnFailure leaves a success', 'OnFailure', ok, false],
    ['OnFailure restarts a failure', 'OnFailure', failed, true],
    ['OnFailure restarts an OOM kill', 'OnFailure', oom, true],
    ['Never leaves a failure', 'Never', failed, false],
  ];
  for (const [title, policy, exit, expected] of table) it(title, () => assert.equal(shouldRestart(policy, exit), expected));

  it('backs off 1 s doubling, capped at 60 s', () => {
    // 1000 * 2^(n-1): 1000, 2000, 4000, 8000, 16000, 32000, then 64000 capped to 60000
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 10].map(backoffDelayMs), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });

  it('resets the backoff after 10 minutes of running', () => {
    assert.equal(nextConsecutiveFailures(6, 9 * 60_000), 7);
    assert.equal(nextConsecutiveFailures(6, 10 * 60_000), 1);
  });

  it('names exits as Kubernetes does', () => {
    assert.equal(exitReason(ok), 'Completed');
    assert.equal(exitReason(failed), 'Error');
    assert.equal(exitReason(oom), 'OOMKilled');
    assert.equal(exitReason({ code: null, signal: null, oomKilled: false }), 'Unknown');
  });
});
