/**
 * Issues 6 and 18 acceptance, the spike: a CPU-bound JavaScript web service (built in the test into
 * the `node` image) autoscaled on requests per second through the balancer's HTTP mode (on CPU
 * utilisation through its TCP mode with TIDE_SPIKE_PROTOCOL=TCP); an open-loop load generator in a
 * process of its own sends through the node's published port a low rate, then ten times that rate,
 * then the low rate again.
 * Asserted: the service scales out after the step (HTTP: by panic mode, from its Event) and an added
 * replica gets ready, zero failed requests (none timed out, none answered 503 by the balancer's
 * deadline or full queue), no scale-in within the 20 s stabilisation window of the last scale-out (by
 * the autoscaler's own decision times), then a return to the floor. How fast (first replica ready
 * ≤ 5 s, p99 back under the target ≤ 15 s) is measured and printed here, and is a target of the
 * autoscale benchmark (`npm run bench -- autoscale --mode http`): on a busy machine it is not this
 * test's to assert.
 *
 * One node: the whole machine's CPU for one node's replicas (16 at most), so the figures do not
 * depend on how replicas spread; cross-node balancing is issue 5's test.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { AutoscaleDecision, Service, TideEvent } from '@tide/api';
import { TestCluster, waitFor } from './harness';
import { TARGET_RPS, buildSpikeImage, measure, runTraceApart, spikeManifest, waitForFloor, watchReplicas } from './autoscale/spike.scenario';

const BASE = 19870;
const POD_CIDR = '100.64.16.0/21';
const PUBLISH = BASE + 50;
const FLOOR = 2;
const DOWN_WINDOW_S = 20;
const LOW = 8;
/** The published port's balancer mode: HTTP (issue 18), `TIDE_SPIKE_PROTOCOL=TCP` for the TCP mode. */
const PROTOCOL = process.env.TIDE_SPIKE_PROTOCOL === 'TCP' ? 'TCP' : 'HTTP';
/**
 * CPU per request: the spike (80/s) then needs 0.48 of a core, just under the floor's two 250m limits
 * (queueing starts there, so the count must grow to bring latency back), and well within what the
 * replicas get on a CI machine whose two cores are also kept busy by other work (the benchmark's
 * 12 ms, 0.96 of a core, is more than they get there: the balancer then answers the excess 503 at its
 * deadline, as it should, and this test would fail for want of CPU, not of Tide).
 */
const BURN_MS = 6;
const PHASES = [{ seconds: 8, ratePerSecond: LOW }, { seconds: 25, ratePerSecond: LOW * 10 }, { seconds: DOWN_WINDOW_S + 10, ratePerSecond: LOW }];

/** Every scale decision the autoscaler records in the service status (it keeps the last few), polled until stopped. */
function watchDecisions(cluster: TestCluster, name: string): { stop(): Promise<AutoscaleDecision[]> } {
  const seen = new Map<string, AutoscaleDecision>();
  let active = true;
  const loop = (async () => {
    while (active) {
      const service = await cluster.api<Service>(`/api/v1/services/${name}`).catch(() => undefined);
      for (const d of service?.status?.autoscale?.lastDecisions ?? []) seen.set(`${d.time} ${d.from} ${d.to}`, d);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return { stop: async () => { active = false; await loop; return [...seen.values()].sort((a, b) => Date.parse(a.time) - Date.parse(b.time)); } };
}

describe('autoscaling a spike', { timeout: 900_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('scales out after a 10x step with no failed request, holds for the window, returns to the floor', async () => {
    await buildSpikeImage(cluster);
    const applied = await cluster.apply(spikeManifest({ name: 'spike', publish: PUBLISH, policy: 'tide', minReplicas: FLOOR, maxReplicas: 16, scaleDownWindowSeconds: DOWN_WINDOW_S, protocol: PROTOCOL, burnMs: BURN_MS }));
    assert.equal(applied.code, 0, applied.stderr);
    await waitForFloor(cluster, 'spike', FLOOR, 180_000);
    // Usage samples of the idle replicas (HTTP: the balancer's request counter), so that the autoscaler has rates before the trace.
    await waitFor('the autoscaler measuring both replicas', async () => {
      const status = (await cluster.api<Service>('/api/v1/services/spike')).status?.autoscale;
      return status?.measuredReplicas === FLOOR && (PROTOCOL === 'HTTP' ? status.requestsPerSecond : status.cpuUtilizationPercentage) !== undefined;
    });

    const watch = watchReplicas(cluster, 'spike');
    const decisions = watchDecisions(cluster, 'spike');
    let startMs = 0;
    // Generous per-request limits: a request fails only when it is refused, reset or not answered in a minute.
    const results = await runTraceApart(PHASES, { host: '127.0.1.1', port: PUBLISH, timeoutMs: 60_000, maxInFlight: 10_000 }, (at) => (startMs = at));
    await waitFor('the return to the floor', async () => {
      const last = watch.samples.at(-1);
      return last && last.desired === FLOOR && last.live === FLOOR;
    }, 180_000, 200);
    await watch.stop();
    const scaled = await decisions.stop();
    const m = measure(results, watch.samples, startMs, PHASES);
    const dropAt = startMs + (PHASES[0].seconds + PHASES[1].seconds) * 1000;
    const atDrop = watch.samples.filter((s) => s.atMs <= dropAt).at(-1)!.desired;
    const firstScaleIn = watch.samples.find((s) => s.atMs > dropAt && s.desired < atDrop);
    const decided = scaled.map((d) => `${((Date.parse(d.time) - startMs) / 1000).toFixed(1)} s ${d.from}→${d.to} ${d.reason}: ${d.message.split('; ').slice(1, 2).join('')}`);
    const figures = { ...m, scale_in_after_drop_s: firstScaleIn ? (firstScaleIn.atMs - dropAt) / 1000 : null, replicas_at_drop: atDrop, decisions: decided };
    console.log(`autoscale spike (${PROTOCOL}): ${JSON.stringify(figures)}`);

    assert.equal(m.failed_requests, 0, `failed requests: ${m.errors.join('; ')}; sent at ${m.failed_sent_at_s.join(', ')} s ` +
      `(step at ${PHASES[0].seconds} s, drop at ${PHASES[0].seconds + PHASES[1].seconds} s); the balancer said:\n` +
      cluster.logLines(/spike: /).filter((line) => !/back-off/.test(line)).slice(-40).join('\n'));
    assert.ok(m.first_ready_s !== null, 'a replica added after the step got ready');
    assert.ok(atDrop > FLOOR, `scaled out (to ${atDrop}) for the spike`);
    assert.ok(firstScaleIn, 'scaled in after the drop');
    // A scale-out's recommendation stays in the window: no scale-in within the window of the last one
    // (the decisions' own times; a second for the 1 s decision tick).
    const firstDown = scaled.find((d) => d.to < d.from);
    const lastUp = scaled.filter((d) => d.to > d.from && (!firstDown || Date.parse(d.time) < Date.parse(firstDown.time))).at(-1);
    assert.ok(firstDown && lastUp, `a scale-out and a scale-in among the decisions: ${JSON.stringify(scaled)}`);
    const heldS = (Date.parse(firstDown.time) - Date.parse(lastUp.time)) / 1000;
    assert.ok(heldS >= DOWN_WINDOW_S - 1, `first scale-in ${heldS} s after the last scale-out (window ${DOWN_WINDOW_S} s): ${JSON.stringify(scaled)}`);

    // Every decision is an Event with the numbers behind it, and describe shows the last ones.
    const events = await cluster.api<{ items: TideEvent[] }>('/api/v1/events?kind=Service&name=spike');
    if (PROTOCOL === 'HTTP') {
      // 80/s over the floor's 2 replicas is 4× the target per replica: panic (at 2×) takes the count to the need at once.
      const panic = events.items.find((e) => e.spec.reason === 'Panic');
      assert.match(panic?.spec.message ?? '', new RegExp(`^\\d+ → \\d+ replicas \\(Panic\\); requests [\\d.]+/s per replica over \\d+ \\(target ${TARGET_RPS}/s\\) → \\d+; panic until `),
        `a Panic event among: ${events.items.map((e) => `${e.spec.reason}: ${e.spec.message}`).join('\n')}`);
    } else {
      const up = events.items.find((e) => e.spec.reason === 'Panic' || e.spec.reason === 'ScaleUp');
      assert.match(up?.spec.message ?? '', /^2 → \d+ replicas \((Panic|ScaleUp)\); cpu \d+% of the request over \d+ replica\(s\) \(target 60%\) → \d+/);
    }
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
