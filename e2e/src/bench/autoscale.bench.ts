/**
 * autoscale benchmark: the same traffic trace (low rate, ten times that rate, low again) against
 * the spike service autoscaled by Tide's policy and by the `hpa-default` policy (Kubernetes HPA's
 * defaults: 15 s sync, no panic mode, 300 s down stabilisation), one after the other on one 1-node
 * local cluster, in one run. Both policies keep their own defaults; nothing else differs.
 *
 * The step is placed half a sync period after a decision of the policy under test (7.5 s for HPA's
 * 15 s, 0.5 s for Tide's 1 s): the expected delay of a periodic decision, not its best or worst case.
 * Reported per policy: first_ready_s (step → first added replica ready), recovered_s (step → p99 back
 * under the target for good), failed_requests, slow_requests, replica_seconds (over the trace).
 * Options: --low-rate N (8), --low-seconds N (10), --high-seconds N (45), --after-seconds N (10), --json.
 */
import type { Service } from '@tide/api';
import { TestCluster, waitFor } from '../harness';
import { LATENCY_TARGET_MS, SpikeResult, buildSpikeImage, measure, runTrace, spikeManifest, waitForFloor, watchReplicas } from '../autoscale/spike.scenario';

const BASE = 19970;
const POD_CIDR = '100.64.24.0/21';
const FLOOR = 2;
const MAX = 16;
const TARGETS = { first_ready_s: 5, speedup_vs_hpa_default: 3, failed_requests: 0 };

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runPolicy(cluster: TestCluster, policy: 'tide' | 'hpa-default', publish: number, phases: { seconds: number; ratePerSecond: number }[]): Promise<SpikeResult & { step_after_decision_s: number }> {
  const name = policy === 'tide' ? 'spike-tide' : 'spike-hpa';
  const applied = await cluster.apply(spikeManifest({ name, publish, policy, minReplicas: FLOOR, maxReplicas: MAX }));
  if (applied.code !== 0) throw new Error(applied.stderr);
  await waitForFloor(cluster, name, FLOOR);
  const syncMs = policy === 'tide' ? 1000 : 15_000;
  const decidedAt = await waitFor(`a decision of ${name}'s autoscaler`, async () => {
    const observed = (await cluster.api<Service>(`/api/v1/services/${name}`)).status?.autoscale?.observedAt;
    return observed ? Date.parse(observed) : undefined;
  }, 30_000);
  // The step lands half a sync period after one of the policy's decisions, past the low phase.
  const lowMs = phases[0].seconds * 1000;
  let stepAt = decidedAt + syncMs / 2;
  while (stepAt < Date.now() + lowMs + 3000) stepAt += syncMs;
  await sleep(stepAt - lowMs - Date.now());
  const watch = watchReplicas(cluster, name);
  let startMs = 0;
  const results = await runTrace(phases, { host: '127.0.1.1', port: publish }, (at) => (startMs = at));
  await watch.stop();
  await cluster.api(`/api/v1/services/${name}`, { method: 'DELETE' });
  await waitFor(`${name}'s replicas gone`, async () => (await cluster.replicas(name)).length === 0, 60_000);
  return { ...measure(results, watch.samples, startMs, phases), step_after_decision_s: ((startMs + lowMs - decidedAt) % syncMs) / 1000 };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const low = option('low-rate', 8);
  const phases = [
    { seconds: option('low-seconds', 10), ratePerSecond: low },
    { seconds: option('high-seconds', 45), ratePerSecond: low * 10 },
    { seconds: option('after-seconds', 10), ratePerSecond: low },
  ];
  const cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  try {
    await buildSpikeImage(cluster);
    const tide = await runPolicy(cluster, 'tide', BASE + 50, phases);
    const hpa = await runPolicy(cluster, 'hpa-default', BASE + 51, phases);
    const speedup = tide.first_ready_s && hpa.first_ready_s ? Math.round((hpa.first_ready_s / tide.first_ready_s) * 10) / 10 : null;
    const result = {
      trace: { low_rps: low, high_rps: low * 10, phases_s: phases.map((p) => p.seconds), burn_ms_per_request: 12, latency_target_ms: LATENCY_TARGET_MS, floor: FLOOR, max: MAX },
      tide, hpa_default: hpa, speedup_first_ready: speedup, targets: TARGETS,
      met: {
        first_ready: tide.first_ready_s !== null && tide.first_ready_s <= TARGETS.first_ready_s,
        speedup: speedup !== null && speedup >= TARGETS.speedup_vs_hpa_default,
        zero_failed: tide.failed_requests === 0,
      },
    };
    if (json) console.log(JSON.stringify(result, null, 2));
    else {
      for (const [label, r] of [['tide', tide], ['hpa-default', hpa]] as const) {
        console.log(`${label.padEnd(12)} first ready ${r.first_ready_s} s, first served ${r.first_served_s} s, p99 back under ${LATENCY_TARGET_MS} ms after ${r.recovered_s} s, failed ${r.failed_requests}, slow ${r.slow_requests} of ${r.requests}, ${r.replica_seconds} replica-seconds (peak ${r.peak_replicas})`);
      }
      console.log(`first replica ready ${speedup}x sooner with tide (target ≥ ${TARGETS.speedup_vs_hpa_default}x)`);
    }
  } finally {
    await cluster.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
