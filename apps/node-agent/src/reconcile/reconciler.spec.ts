import { after, afterEach, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assignment } from '../testing/assignments';
import { FakeRuntime } from '@tide/runtime/testing';
import { ReconcilerHarness, removeTempDirs, tempDir } from '../testing/reconciler.harness';
import { buildContainerSpec } from './container-spec.builder';

let h: ReconcilerHarness;

function makeHarness(stateDir = tempDir(), runtime?: FakeRuntime): ReconcilerHarness {
  return new ReconcilerHarness(stateDir, runtime);
}

describe('reconciler', () => {
  beforeEach(() => (h = makeHarness()));
  afterEach(() => h.reconciler.stop());
  after(removeTempDirs);

  it('starts each desired replica once, as <namespace>.<name> with its labels', async () => {
    await h.desire(assignment('web-abc-1', { namespace: 'shop', service: 'web', templateHash: 'abc123' }), assignment('web-abc-2'));
    assert.deepEqual(h.runtime.running(), ['default.web-abc-2', 'shop.web-abc-1']);
    const [info] = (await h.runtime.list()).filter((c) => c.id === 'shop.web-abc-1');
    assert.equal(info.spec.hostname, 'web-abc-1');
    assert.deepEqual(info.spec.labels, { namespace: 'shop', service: 'web', replica: 'web-abc-1', templateHash: 'abc123', terminationGracePeriodSeconds: '30' });
    assert.equal(info.spec.logPath, path.join(h.logDir, 'shop.web-abc-1.log'));
    assert.equal(h.view('web-abc-1', 'shop').phase, 'Running');
    assert.equal(h.view('web-abc-1', 'shop').ready, true);
    // Another copy of the same set changes nothing.
    await h.desire(assignment('web-abc-1', { namespace: 'shop', service: 'web', templateHash: 'abc123' }), assignment('web-abc-2'));
    assert.equal(h.runtime.calls.filter((c) => c.startsWith('start')).length, 2);
  });

  it('does nothing before the first desired set arrives', async () => {
    h.runtime.seed(buildContainerSpec(assignment('old-1'), '/l'));
    await h.reconciler.adopt();
    await h.settle();
    assert.deepEqual(h.runtime.calls, []);
    assert.equal(h.view('old-1').phase, 'Running');
  });

  it('adopts a running container instead of starting a duplicate, and stops adopted ones no longer desired', async () => {
    h.runtime.seed(buildContainerSpec(assignment('keep-1'), '/l'));
    h.runtime.seed(buildContainerSpec(assignment('drop-1', { template: { terminationGracePeriodSeconds: 7 } }), '/l'));
    assert.equal(await h.reconciler.adopt(), 2);
    await h.desire(assignment('keep-1'));
    assert.deepEqual(h.runtime.calls, ['stop default.drop-1 7', 'remove default.drop-1']);
    assert.deepEqual(h.runtime.running(), ['default.keep-1']);
    assert.equal(h.view('keep-1').phase, 'Running');
    assert.deepEqual(h.reconciler.goneKeys(), ['default/drop-1']);
  });

  it('restarts an adopted container that exited while the agent was away', async () => {
    h.runtime.seed(buildContainerSpec(assignment('crashed-1'), '/l'), { code: 2 });
    await h.reconciler.adopt();
    await h.desire(assignment('crashed-1'));
    assert.equal(h.view('crashed-1').record.lastExit?.reason, 'Error');
    assert.equal(h.view('crashed-1').record.restartCount, 1);
    await h.advance(1000);
    assert.deepEqual(h.runtime.running(), ['default.crashed-1']);
  });

  it('backs off restarts 1 s, 2 s, 4 s ... and counts them', async () => {
    await h.desire(assignment('crash-1'));
    const expectedDelays = [1000, 2000, 4000, 8000];
    for (const [i, delay] of expectedDelays.entries()) {
      h.runtime.exit('default.crash-1', { code: 1 });
      await h.settle();
      assert.equal(h.view('crash-1').phase, 'Starting');
      assert.equal(h.view('crash-1').record.restartCount, i + 1);
      assert.match(h.view('crash-1').record.message ?? '', new RegExp(`back-off ${delay / 1000} s`));
      await h.advance(delay - 1);
      assert.deepEqual(h.runtime.running(), [], `not restarted before ${delay} ms`);
      await h.advance(1);
      assert.deepEqual(h.runtime.running(), ['default.crash-1'], `restarted after ${delay} ms`);
    }
    assert.equal(h.runtime.starts('default.crash-1'), 5);
    assert.deepEqual(h.view('crash-1').record.lastExit && { code: h.view('crash-1').record.lastExit!.code, reason: h.view('crash-1').record.lastExit!.reason }, { code: 1, reason: 'Error' });
    assert.equal(h.restarts.length, 4);
  });

  it('forgets the backoff after 10 minutes of running', async () => {
    await h.desire(assignment('steady-1'));
    for (let i = 0; i < 3; i++) {
      h.runtime.exit('default.steady-1', { code: 1 });
      await h.settle();
      await h.advance(h.clock.nextTimerInMs() ?? 0);
    }
    await h.advance(11 * 60_000);
    h.runtime.exit('default.steady-1', { code: 1 });
    await h.settle();
    assert.match(h.view('steady-1').record.message ?? '', /back-off 1 s/);
  });

  it('OnFailure restarts a failure but not a success', async () => {
    await h.desire(assignment('job-1', { template: { restartPolicy: 'OnFailure' } }));
    h.runtime.exit('default.job-1', { code: null, signal: 'SIGKILL', oomKilled: true });
    await h.settle();
    assert.equal(h.view('job-1').record.lastExit?.reason, 'OOMKilled');
    await h.advance(1000);
    assert.deepEqual(h.runtime.running(), ['default.job-1']);
    h.runtime.exit('default.job-1', { code: 0 });
    await h.settle();
    await h.advance(120_000);
    assert.deepEqual(h.runtime.running(), []);
    assert.equal(h.view('job-1').phase, 'Succeeded');
    assert.equal(h.view('job-1').record.lastExit?.reason, 'Completed');
    assert.equal(h.view('job-1').record.restartCount, 1);
  });

  it('Never leaves a failed container down and reports Failed', async () => {
    await h.desire(assignment('once-1', { template: { restartPolicy: 'Never' } }));
    h.runtime.exit('default.once-1', { code: 3 });
    await h.settle();
    await h.advance(120_000);
    assert.equal(h.runtime.starts('default.once-1'), 1);
    assert.equal(h.runtime.has('default.once-1'), false, 'the exited container is removed');
    assert.equal(h.view('once-1').phase, 'Failed');
    assert.deepEqual({ ...h.view('once-1').record.lastExit, finishedAt: undefined }, { code: 3, signal: null, reason: 'Error', finishedAt: undefined });
    assert.equal(h.view('once-1').record.restartCount, 0);
  });

  it('stops a replica removed from the desired set with its grace period, removes it and its logs, reports it gone', async () => {
    await h.desire(assignment('web-1', { template: { terminationGracePeriodSeconds: 5 } }), assignment('web-2'));
    fs.writeFileSync(path.join(h.logDir, 'default.web-1.log'), 'hello\n');
    await h.desire(assignment('web-2'));
    assert.deepEqual(h.runtime.calls.slice(-2), ['stop default.web-1 5', 'remove default.web-1']);
    assert.deepEqual(h.runtime.running(), ['default.web-2']);
    assert.equal(h.reconciler.records.has('default/web-1'), false);
    assert.equal(fs.existsSync(path.join(h.logDir, 'default.web-1.log')), false);
    assert.deepEqual(h.reconciler.goneKeys(), ['default/web-1']);
    h.reconciler.acknowledgeGone(['default/web-1']);
    assert.deepEqual(h.reconciler.goneKeys(), []);
  });

  it('kills every container at once when the node is cut off, and runs what the next desired set says', async () => {
    const published = { template: { terminationGracePeriodSeconds: 30, ports: [{ containerPort: 80, publish: 8080 }] } };
    await h.desire(assignment('web-1', published), assignment('web-2', published));
    h.reconciler.isolate();
    await h.settle();
    // No drain wait, no grace: the clock never moved.
    assert.deepEqual(h.runtime.calls.filter((c) => c.startsWith('stop')).sort(), ['stop default.web-1 0', 'stop default.web-2 0']);
    assert.deepEqual(h.runtime.running(), []);
    await h.advance(60_000);
    assert.deepEqual(h.runtime.running(), [], 'nothing restarts while cut off');
    await h.desire(assignment('web-2', published));
    assert.deepEqual(h.runtime.running(), ['default.web-2'], 'the control plane\'s set, once heard, decides');
  });

  it('marks a replica of a missing image Failed with ImageNotFound and retries it with backoff', async () => {
    await h.desire(assignment('ghost-1', { template: { image: 'no-such:1.0' } }), assignment('fine-1'));
    const ghost = h.view('ghost-1');
    assert.equal(ghost.phase, 'Failed');
    assert.equal(ghost.record.lastExit?.reason, 'ImageNotFound');
    assert.match(ghost.record.message ?? '', /ImageNotFound: image "no-such:1.0" not found/);
    assert.deepEqual(h.runtime.running(), ['default.fine-1'], 'the other replicas run');
    h.runtime.images.add('no-such:1.0');
    await h.advance(1000);
    assert.equal(h.view('ghost-1').phase, 'Running');
  });

  it('keeps restart counts across an agent restart (the state file)', async () => {
    const stateDir = tempDir();
    h = makeHarness(stateDir);
    await h.desire(assignment('web-1'));
    h.runtime.exit('default.web-1', { code: 1 });
    await h.settle();
    await h.advance(1000);
    h.reconciler.stop();
    const runtime = h.runtime;
    h = makeHarness(stateDir, runtime);
    await h.reconciler.adopt();
    await h.desire(assignment('web-1'));
    assert.equal(runtime.starts('default.web-1'), 2, 'adopted, not started again');
    assert.equal(h.view('web-1').record.restartCount, 1);
    assert.equal(h.view('web-1').record.lastExit?.reason, 'Error');
  });
});
