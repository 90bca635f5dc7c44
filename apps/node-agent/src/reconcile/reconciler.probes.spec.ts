/**
 * The reconciler with a real prober (manual clock, scripted checks) over the fake runtime: readiness
 * follows the readiness probe, a failing liveness probe restarts the container through the ordinary
 * exit path, and a replica that publishes ports is stopped only after the endpoint propagation delay.
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ResolvedProbe } from '@tide/api';
import { Prober } from '../probes/prober';
import { probedContainers, verdictFor } from '../probes/replica.probes';
import { assignment } from '../testing/assignments';
import { ReconcilerHarness, removeTempDirs, tempDir } from '../testing/reconciler.harness';

const probe = (extra: Partial<ResolvedProbe> = {}): ResolvedProbe => ({
  httpGet: { path: '/healthz', port: 8080 },
  initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 2, ...extra,
});

describe('reconciler with probes', () => {
  let h: ReconcilerHarness;
  let prober: Prober;
  /** What the replica's /healthz answers. */
  let healthy: boolean;
  const checked: string[] = [];

  beforeEach(() => {
    healthy = true;
    checked.length = 0;
    // The prober and the reconciler call each other: both are reached through `h` once made.
    prober = new Prober({
      check: async (target) => {
        checked.push(target.host);
        return healthy ? { passed: true } : { passed: false, message: 'status 500' };
      },
      onChange: (key) => h.reconciler.probesChanged(key),
      clock: { now: () => h.clock.now(), setTimer: (cb, ms) => h.clock.setTimer(cb, ms) },
    });
    h = new ReconcilerHarness(tempDir(), undefined, {
      probes: (record) => verdictFor(prober, record),
      onChange: () => prober.sync(probedContainers(h.reconciler.records.values(), '127.0.1.1')),
      endpointPropagationMs: 1000,
    });
  });
  afterEach(() => {
    prober.stop();
    h.reconciler.stop();
  });
  after(removeTempDirs);

  /** Moves time in steps, so that a check scheduled after an (async) outcome still falls due on the way. */
  async function advance(ms: number): Promise<void> {
    for (let step = Math.min(ms, 100); ms > 0; ms -= step) await h.advance(Math.min(step, ms));
  }

  it('is not ready until the readiness probe passes, and not ready again after failureThreshold failures', async () => {
    await h.desire(assignment('web-1', { template: { probes: { readiness: probe() } } }));
    assert.equal(h.view('web-1').phase, 'Running');
    assert.deepEqual([h.view('web-1').ready, h.view('web-1').message], [false, 'waiting for the readiness probe to pass']);
    await advance(10);
    assert.equal(h.view('web-1').ready, true);
    assert.deepEqual(checked, ['127.0.1.1'], 'a host-network replica is probed at the node address');
    healthy = false;
    await advance(1000);
    assert.equal(h.view('web-1').ready, true, 'one failure of two');
    await advance(1000);
    assert.deepEqual([h.view('web-1').ready, h.view('web-1').message], [false, 'readiness probe failed: status 500']);
    assert.equal(h.runtime.starts('default.web-1'), 1, 'readiness never restarts');
  });

  it('restarts a replica whose liveness probe fails, reason Unhealthy, and probes the new container afresh', async () => {
    await h.desire(assignment('web-1', { template: { probes: { liveness: probe() } } }));
    await advance(10);
    healthy = false;
    await advance(2000);
    const { record } = h.view('web-1');
    assert.equal(record.restartCount, 1);
    assert.equal(record.lastExit?.reason, 'Unhealthy');
    assert.match(record.message!, /^liveness probe failed 2 time\(s\) in a row: status 500; container killed \(SIGTERM\); back-off 1 s before restart 1$/);
    assert.deepEqual(h.restarts, ['default/web-1']);
    assert.ok(h.runtime.calls.includes('stop default.web-1 30'), 'stopped with its grace period');
    healthy = true;
    await advance(1000);
    assert.equal(h.runtime.starts('default.web-1'), 2);
    await advance(5000);
    assert.equal(h.view('web-1').record.restartCount, 1, 'the new container passes: no more restarts');
  });

  it('keeps a replica that publishes ports running for the propagation delay after it leaves the desired set', async () => {
    const published = assignment('web-1', { template: { ports: [{ containerPort: 8080, publish: 18080 }] } });
    await h.desire(published, assignment('job-1'));
    await h.desire();
    assert.equal(h.runtime.has('default.job-1'), false, 'nothing published: stopped at once');
    assert.equal(h.view('web-1').phase, 'Terminating');
    assert.equal(h.view('web-1').ready, false, 'out of the balancers at once');
    await advance(900);
    assert.ok(!h.runtime.calls.includes('stop default.web-1 30'), 'still serving in-flight requests');
    await advance(100);
    assert.ok(h.runtime.calls.includes('stop default.web-1 30'));
    assert.equal(h.runtime.has('default.web-1'), false);
  });
});
