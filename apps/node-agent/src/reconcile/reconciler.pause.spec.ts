/**
 * Pausing replicas (ReplicaAssignment.paused) with a real prober over the fake runtime: a replica
 * leaves the endpoints before it is frozen, shows Paused while it is, is never killed by its liveness
 * probe meanwhile, stays paused across an agent restart, and comes back Running and ready.
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ResolvedProbe } from '@tide/api';
import { FakeRuntime } from '@tide/runtime/testing';
import { Prober } from '../probes/prober';
import { probedContainers, verdictFor } from '../probes/replica.probes';
import { assignment } from '../testing/assignments';
import { ReconcilerHarness, removeTempDirs, tempDir } from '../testing/reconciler.harness';
import { buildContainerSpec } from './container-spec.builder';

const liveness: ResolvedProbe = { httpGet: { path: '/healthz', port: 8080 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 2 };
const web = (paused?: true) => assignment('web-1', { ...(paused ? { paused } : {}), template: { ports: [{ containerPort: 8080, publish: 18080 }], probes: { liveness, readiness: liveness } } });

describe('reconciler pausing replicas', () => {
  let h: ReconcilerHarness;
  let prober: Prober;
  /** Whether the replica's /healthz answers: a frozen process answers nothing. */
  let answering: boolean;

  const harness = (runtime?: FakeRuntime) => {
    prober = new Prober({
      check: async () => (answering ? { passed: true } : { passed: false, message: 'timed out' }),
      onChange: (key) => h.reconciler.probesChanged(key),
      clock: { now: () => h.clock.now(), setTimer: (cb, ms) => h.clock.setTimer(cb, ms) },
    });
    h = new ReconcilerHarness(tempDir(), runtime, {
      probes: (record) => verdictFor(prober, record),
      onChange: () => prober.sync(probedContainers(h.reconciler.records.values(), '127.0.1.1')),
      endpointPropagationMs: 1000,
    });
  };
  /** In steps, so that a check scheduled after an (async) outcome still falls due on the way. */
  const advance = async (ms: number) => {
    for (let step = Math.min(ms, 100); ms > 0; ms -= step) await h.advance(Math.min(step, ms));
  };

  beforeEach(() => {
    answering = true;
    harness();
  });
  afterEach(() => {
    prober.stop();
    h.reconciler.stop();
  });
  after(removeTempDirs);

  it('drains, then freezes; Paused and not ready, never killed by liveness; unpaused it is probed afresh and ready again', async () => {
    await h.desire(web());
    await advance(10);
    assert.deepEqual([h.view('web-1').phase, h.view('web-1').ready], ['Running', true]);
    await h.desire(web(true));
    assert.deepEqual([h.view('web-1').phase, h.view('web-1').ready, h.view('web-1').message], ['Running', false, 'pausing: leaving the endpoints before its processes are frozen']);
    assert.ok(!h.runtime.calls.includes('pause default.web-1'), 'not frozen before the balancers dropped it');
    await advance(1000);
    assert.ok(h.runtime.calls.includes('pause default.web-1'));
    assert.deepEqual([h.view('web-1').phase, h.view('web-1').ready], ['Paused', false]);
    answering = false;
    await advance(10_000);
    assert.equal(h.runtime.starts('default.web-1'), 1, 'not restarted while paused');
    assert.ok(!h.runtime.calls.some((c) => c.startsWith('stop ')), 'not stopped while paused');
    assert.equal(h.view('web-1').phase, 'Paused');
    answering = true;
    await h.desire(web());
    assert.ok(h.runtime.calls.includes('unpause default.web-1'));
    assert.equal(h.view('web-1').phase, 'Running');
    await advance(10);
    assert.deepEqual([h.view('web-1').phase, h.view('web-1').ready, h.view('web-1').record.restartCount], ['Running', true, 0]);
  });

  it('finds a paused container paused after an agent restart: nothing frozen again, still Paused, unpaused when asked', async () => {
    const runtime = new FakeRuntime(() => h.clock.now());
    h.reconciler.stop();
    harness(runtime);
    runtime.seed(buildContainerSpec(web(true), '/l'));
    await runtime.pause('default.web-1');
    runtime.calls.length = 0;
    await h.reconciler.adopt();
    await h.desire(web(true));
    await advance(2000);
    assert.deepEqual(runtime.calls, [], 'neither started, paused nor stopped again');
    assert.deepEqual([h.view('web-1').phase, h.view('web-1').ready], ['Paused', false]);
    await h.desire(web());
    assert.deepEqual(runtime.calls, ['unpause default.web-1']);
    assert.equal(h.view('web-1').phase, 'Running');
  });

  it('stops a paused replica no longer desired (the runtime thaws it first)', async () => {
    await h.desire(web(true));
    await advance(1000);
    assert.equal(h.view('web-1').phase, 'Paused');
    await h.desire();
    await advance(1000);
    assert.equal(h.runtime.has('default.web-1'), false);
    assert.deepEqual(h.reconciler.goneKeys(), ['default/web-1']);
  });
});
