import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ProbeKind } from '@tide/api';
import { ProbeTracker, activeKinds, initialTracker, probeVerdict, recordOutcome } from './probe.state';

/** Feeds outcomes ('+' pass, '-' fail) and returns the result after each. */
function results(kind: ProbeKind, outcomes: string, successThreshold: number, failureThreshold: number): string {
  let tracker = initialTracker(kind);
  return [...outcomes].map((o) => {
    tracker = recordOutcome(tracker, o === '+', { successThreshold, failureThreshold }, 'status 500');
    return tracker.result[0];
  }).join('');
}

describe('probe state machine', () => {
  // [kind, outcomes, successThreshold, failureThreshold, results after each (s success, f failure, u unknown)]
  const table: [ProbeKind, string, number, number, string][] = [
    ['readiness', '+', 1, 3, 's'], // not ready until the first pass
    ['readiness', '-', 1, 3, 'f'], // starts failed: a first failure keeps it not ready
    ['readiness', '++', 2, 3, 'fs'], // successThreshold 2: ready at the second pass in a row
    ['readiness', '+-+', 2, 3, 'fff'], // a failure breaks the run of passes
    ['readiness', '+--+-', 1, 3, 'sssss'], // 1 failure after a pass: still ready (threshold 3)
    ['readiness', '+---', 1, 3, 'sssf'], // the third failure in a row: not ready
    ['readiness', '+---+', 1, 3, 'sssfs'], // one pass makes it ready again
    ['liveness', '--', 1, 3, 'ss'], // starts alive; two failures are not three
    ['liveness', '---', 1, 3, 'ssf'], // three in a row: restart
    ['liveness', '--+--', 1, 3, 'sssss'], // the pass resets the run
    ['liveness', '-', 1, 1, 'f'], // failureThreshold 1
    ['startup', '-+', 1, 3, 'us'], // unknown until it passes
    ['startup', '---', 1, 3, 'uuf'], // failed three times before passing: restart
  ];
  for (const [kind, outcomes, success, failure, expected] of table) {
    it(`${kind} ${outcomes} (success ${success}, failure ${failure}) → ${expected}`, () => {
      assert.equal(results(kind, outcomes, success, failure), expected);
    });
  }

  it('keeps the message of the last failure only while failing', () => {
    const t = { successThreshold: 1, failureThreshold: 1 };
    const failed = recordOutcome(initialTracker('readiness'), false, t, 'connection refused');
    assert.equal(failed.message, 'connection refused');
    assert.equal(recordOutcome(failed, true, t).message, undefined);
  });
});

describe('probeVerdict', () => {
  const t = { successThreshold: 1, failureThreshold: 3 };
  const tracker = (result: ProbeTracker['result'], message?: string): ProbeTracker => ({ result, run: 3, message });

  it('is ready with no probes at all', () => {
    assert.deepEqual(probeVerdict({}, {}), { started: true, ready: true });
  });
  it('is not ready until the readiness probe passed, saying why', () => {
    assert.deepEqual(probeVerdict({ readiness: initialTracker('readiness') }, { readiness: t }), { started: true, ready: false, message: 'waiting for the readiness probe to pass' });
    assert.equal(probeVerdict({ readiness: tracker('failure', 'HTTP 500') }, { readiness: t }).message, 'readiness probe failed: HTTP 500');
    assert.equal(probeVerdict({ readiness: tracker('success') }, { readiness: t }).ready, true);
  });
  it('gates readiness and liveness behind the startup probe', () => {
    const trackers = { startup: tracker('unknown'), readiness: tracker('success'), liveness: tracker('failure') };
    const verdict = probeVerdict(trackers, { startup: t, readiness: t, liveness: t });
    assert.deepEqual(verdict, { started: false, ready: false, message: 'waiting for the startup probe to pass' }, 'a failed liveness does not count before startup');
    assert.deepEqual(activeKinds(trackers), ['startup']);
    assert.deepEqual(activeKinds({ ...trackers, startup: tracker('success') }), ['liveness', 'readiness']);
  });
  it('kills on a failed startup probe and on a failed liveness probe, with the last check\'s words', () => {
    assert.deepEqual(probeVerdict({ startup: tracker('failure', 'connection refused') }, { startup: t }).kill,
      { kind: 'startup', message: 'startup probe failed 3 time(s) in a row: connection refused' });
    const verdict = probeVerdict({ liveness: tracker('failure', 'exit code 1'), readiness: tracker('success') }, { liveness: t, readiness: t });
    assert.deepEqual(verdict.kill, { kind: 'liveness', message: 'liveness probe failed 3 time(s) in a row: exit code 1' });
    assert.equal(verdict.ready, false, 'a replica about to be restarted gets no new traffic');
  });
});
