/**
 * Issue 6 acceptance, the spike: a CPU-bound JavaScript web service (built in the test into the
 * `node` image) autoscaled on CPU utilisation; an open-loop load generator on loopback sends through
 * the node's published port (the balancer's TCP mode, spike.scenario.ts says why) a low rate, then
 * ten times that rate, then the low rate again.
 * Measured and asserted: time from the step to the first added replica being ready (≤ 5 s), time
 * until p99 latency is back under the target, zero failed requests, no scale-in before the 20 s
 * stabilisation window after the load drops, then a return to the floor.
 *
 * One node: the whole machine's CPU for one node's replicas (16 at the peak), so the figures do not
 * depend on how replicas spread; cross-node balancing is issue 5's test.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Service, TideEvent } from '@tide/api';
import { TestCluster, waitFor } from './harness';
import { LATENCY_TARGET_MS, buildSpikeImage, measure, runTrace, spikeManifest, waitForFloor, watchReplicas } from './autoscale/spike.scenario';

const BASE = 19870;
const POD_CIDR = '100.64.16.0/21';
const PUBLISH = BASE + 50;
const FLOOR = 2;
const DOWN_WINDOW_S = 20;
const LOW = 8;
const PHASES = [{ seconds: 8, ratePerSecond: LOW }, { seconds: 25, ratePerSecond: LOW * 10 }, { seconds: DOWN_WINDOW_S + 10, ratePerSecond: LOW }];

describe('autoscaling a spike', { timeout: 240_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('scales out within seconds of a 10x step with no failed request, holds for the window, returns to the floor', async () => {
    await buildSpikeImage(cluster);
    const applied = await cluster.apply(spikeManifest({ name: 'spike', publish: PUBLISH, policy: 'tide', minReplicas: FLOOR, maxReplicas: 16, scaleDownWindowSeconds: DOWN_WINDOW_S }));
    assert.equal(applied.code, 0, applied.stderr);
    await waitForFloor(cluster, 'spike', FLOOR);
    // A few usage samples of the idle replicas, so that the autoscaler has rates before the trace.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const watch = watchReplicas(cluster, 'spike');
    let startMs = 0;
    const results = await runTrace(PHASES, { host: '127.0.1.1', port: PUBLISH }, (at) => (startMs = at));
    await waitFor('the return to the floor', async () => {
      const last = watch.samples.at(-1);
      return last && last.desired === FLOOR && last.live === FLOOR;
    }, 30_000, 200);
    await watch.stop();
    const m = measure(results, watch.samples, startMs, PHASES);
    const dropAt = startMs + (PHASES[0].seconds + PHASES[1].seconds) * 1000;
    const atDrop = watch.samples.filter((s) => s.atMs <= dropAt).at(-1)!.desired;
    const firstScaleIn = watch.samples.find((s) => s.atMs > dropAt && s.desired < atDrop);
    const figures = { ...m, scale_in_after_drop_s: firstScaleIn ? (firstScaleIn.atMs - dropAt) / 1000 : null, replicas_at_drop: atDrop };
    console.log(`autoscale spike: ${JSON.stringify(figures)}`);

    assert.equal(m.failed_requests, 0, `failed requests: ${m.errors.join('; ')}`);
    assert.ok(m.first_ready_s !== null && m.first_ready_s <= 5, `first added replica ready ${m.first_ready_s} s after the step (target ≤ 5 s)`);
    assert.ok(m.recovered_s !== null, `p99 never came back under ${LATENCY_TARGET_MS} ms during the high phase`);
    assert.ok(m.p99_after_recovery_ms! < LATENCY_TARGET_MS, `p99 after recovery ${m.p99_after_recovery_ms} ms`);
    assert.ok(atDrop > FLOOR, `scaled out (to ${atDrop}) for the spike`);
    // The last high recommendation is at the drop or later (rates lag), so nothing before the window.
    assert.ok(firstScaleIn && firstScaleIn.atMs - dropAt >= (DOWN_WINDOW_S - 1) * 1000, `scale-in ${figures.scale_in_after_drop_s} s after the drop (window ${DOWN_WINDOW_S} s)`);

    // Every decision is an Event with the numbers behind it, and describe shows the last ones.
    const events = await cluster.api<{ items: TideEvent[] }>('/api/v1/events?kind=Service&name=spike');
    const up = events.items.find((e) => e.spec.reason === 'Panic' || e.spec.reason === 'ScaleUp');
    assert.match(up?.spec.message ?? '', /^2 → \d+ replicas \((Panic|ScaleUp)\); cpu \d+% of the request over \d+ replica\(s\) \(target 60%\) → \d+/);
    assert.ok(events.items.some((e) => e.spec.reason === 'ScaleDown'), 'the scale-in is an Event too');
    const describe = await cluster.tsctl(['describe', 'service', 'spike']);
    assert.match(describe.stdout, /^Autoscale: +2-16 replicas, policy tide$/m);
    assert.match(describe.stdout, /Last decisions:\n +AGE +SCALE +REASON +WHY\n +\d+s +\d+ → 2 +ScaleDown/);
    const service = await cluster.api<Service>('/api/v1/services/spike');
    assert.equal(service.status?.autoscale?.desiredReplicas, FLOOR);
    const metrics = await (await cluster.fetch('/metrics')).text();
    assert.match(metrics, /tide_autoscaler_desired_replicas\{namespace="default",service="spike"\} 2/);
  });
});
