/**
 * autoscale benchmark: the same traffic trace (low rate, ten times that rate, low again) against
 * the spike service autoscaled by Tide's policy and by the `hpa-default` policy (Kubernetes HPA's
 * defaults with its metrics pipeline: metrics-server samples of 15 s, 15 s sync, the readiness delay
 * and CPU initialisation period, no panic mode, 300 s down stabilisation), on one 1-node local
 * cluster, in one run. Both policies keep their own defaults; nothing else differs.
 *
 * Several trials (--trials, 5 by default: the HPA's replica-seconds move with where the step falls
 * in its 15 s sync and 15 s metrics samples, 335-438 across trials, so a median of 3 moves a lot);
 * in each, both policies run one after the other, in alternating order (tide first in odd trials).
 * Each run waits until its policy reports CPU (the service at rest), then places the step at a
 * random phase after one of the policy's decision ticks (stratified over the trials: one phase drawn
 * in each fifth of the period for 5 trials).
 * Reported per policy: the medians over the trials of first_ready_s (step → first added replica
 * ready), recovered_s (step → p99 back under the target for good), failed_requests,
 * replica_seconds (over the trace), first_served_s and slow_requests, then every trial.
 * Options: --trials N (5), --low-rate N (8), --low-seconds N (10), --high-seconds N (45),
 * --after-seconds N (10), --mode tcp|http (tcp: the balancer's TCP mode and a CPU target; http: its
 * HTTP mode and a requests-per-second target, spike.scenario.ts), --json (one JSON object on the last line).
 */
import type { Service } from '@tide/api';
import { TestCluster, waitFor } from '../harness';
import { LATENCY_TARGET_MS, TARGET_RPS, buildSpikeImage, measure, runTraceApart, spikeManifest, waitForFloor, watchReplicas } from '../autoscale/spike.scenario';
import { PolicyName, TrialResult, machineLoad, observedPhase, stratifiedPhases, summarise } from '../autoscale/trials';

const BASE = 19970;
const POD_CIDR = '100.64.24.0/21';
const FLOOR = 2;
const MAX = 16;
const TARGETS = { first_ready_s: 5, recovered_s: 15, speedup_vs_hpa_default: 3, failed_requests: 0, timed_out_requests: 0, replica_seconds_vs_hpa_default: 1.2 };
const SYNC_MS: Record<PolicyName, number> = { 'tide': 1000, 'hpa-default': 15_000 };
const SCRAPE_MS = 15_000;

interface Options {
  trials: number;
  phases: { seconds: number; ratePerSecond: number }[];
  /** How the load reaches the service: the balancer's TCP mode (CPU target) or its HTTP mode (requests-per-second target). */
  mode: 'tcp' | 'http';
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const number = (name: string, fallback: number) => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const value = Number(argv[index + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} wants a positive integer, got "${argv[index + 1]}"`);
    return value;
  };
  const low = number('low-rate', 8);
  const modeAt = argv.indexOf('--mode');
  const mode = modeAt < 0 ? 'tcp' : argv[modeAt + 1];
  if (mode !== 'tcp' && mode !== 'http') throw new Error(`--mode wants tcp or http, got "${mode}"`);
  return {
    trials: number('trials', 5), mode, json: argv.includes('--json'),
    phases: [
      { seconds: number('low-seconds', 10), ratePerSecond: low },
      { seconds: number('high-seconds', 45), ratePerSecond: low * 10 },
      { seconds: number('after-seconds', 10), ratePerSecond: low },
    ],
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the policy has figures (CPU, or requests per second in HTTP mode) for the service at rest; returns its latest decision time. */
async function waitForMetrics(cluster: TestCluster, name: string, mode: Options['mode']): Promise<number> {
  return waitFor(`${name}'s autoscaler reporting its metric`, async () => {
    const autoscale = (await cluster.api<Service>(`/api/v1/services/${name}`)).status?.autoscale;
    const measured = mode === 'http' ? autoscale?.requestsPerSecond : autoscale?.cpuUtilizationPercentage;
    return measured !== undefined ? Date.parse(autoscale!.observedAt) : undefined;
  }, 120_000, 250);
}

async function runPolicy(cluster: TestCluster, options: Options, policy: PolicyName, trial: { index: number; order: number; phase: number }): Promise<TrialResult> {
  const name = `spike-${policy === 'tide' ? 'tide' : 'hpa'}-${trial.index}`;
  const publish = BASE + 50 + (policy === 'tide' ? 0 : 1);
  const applied = await cluster.apply(spikeManifest({ name, publish, policy, minReplicas: FLOOR, maxReplicas: MAX, protocol: options.mode === 'http' ? 'HTTP' : 'TCP' }));
  if (applied.code !== 0) throw new Error(applied.stderr);
  await waitForFloor(cluster, name, FLOOR);
  const decidedAt = await waitForMetrics(cluster, name, options.mode);
  // Watching from here sees every decision before the step (HPA's come 15 s apart).
  const watch = watchReplicas(cluster, name);
  // The step lands `phase` of a sync period after one of the policy's decision ticks, past the low phase.
  const syncMs = SYNC_MS[policy];
  const lowMs = options.phases[0].seconds * 1000;
  let stepAt = decidedAt + trial.phase * syncMs;
  while (stepAt < Date.now() + lowMs + 1000) stepAt += syncMs;
  await sleep(stepAt - lowMs - Date.now());
  let startMs = 0;
  const machine = machineLoad();
  // As the e2e: a request fails when refused, reset, answered other than 200 or not answered in a minute.
  const results = await runTraceApart(options.phases, { host: '127.0.1.1', port: publish, timeoutMs: 60_000, maxInFlight: 10_000 }, (at) => (startMs = at));
  const load = machine.stop();
  await watch.stop();
  await cluster.api(`/api/v1/services/${name}`, { method: 'DELETE' });
  await waitFor(`${name}'s replicas gone`, async () => (await cluster.replicas(name)).length === 0, 90_000);
  const step = startMs + lowMs;
  const decisions = [...new Set(watch.samples.flatMap((s) => (s.decidedAtMs !== undefined ? [s.decidedAtMs] : [])))];
  return {
    trial: trial.index, order: trial.order, step_phase_target_s: Math.round(trial.phase * syncMs) / 1000,
    step_after_decision_s: observedPhase([decidedAt, ...decisions], step, syncMs),
    ...(policy === 'hpa-default' ? { step_after_scrape_s: Math.round(step % SCRAPE_MS) / 1000 } : {}),
    ...measure(results, watch.samples, startMs, options.phases), machine: load,
  };
}

function report(options: Options, trials: Record<PolicyName, TrialResult[]>): void {
  const tide = summarise(trials.tide);
  const hpa = summarise(trials['hpa-default']);
  const speedup = tide.first_ready_s && hpa.first_ready_s ? Math.round((hpa.first_ready_s / tide.first_ready_s) * 10) / 10 : null;
  // Reported to three places; `met` compares the replica-seconds themselves.
  const replicaRatio = hpa.replica_seconds > 0 ? Math.round((tide.replica_seconds / hpa.replica_seconds) * 1000) / 1000 : null;
  const phases = options.phases;
  const result = {
    benchmark: 'autoscale', trials: options.trials, mode: options.mode,
    trace: {
      low_rps: phases[0].ratePerSecond, high_rps: phases[1].ratePerSecond, phases_s: phases.map((p) => p.seconds), burn_ms_per_request: 12, latency_target_ms: LATENCY_TARGET_MS, floor: FLOOR, max: MAX,
      target: options.mode === 'http' ? { requests_per_second: TARGET_RPS } : { cpu_utilization_percentage: 60 },
    },
    tide, hpa_default: hpa, speedup_first_ready: speedup, replica_seconds_vs_hpa_default: replicaRatio, targets: TARGETS,
    met: {
      first_ready: tide.first_ready_s !== null && tide.first_ready_s <= TARGETS.first_ready_s,
      recovered: tide.recovered_s !== null && tide.recovered_s <= TARGETS.recovered_s,
      speedup: speedup !== null && speedup >= TARGETS.speedup_vs_hpa_default,
      zero_failed: tide.trials.every((t) => t.failed_requests === 0),
      zero_timed_out: tide.trials.every((t) => t.timed_out_requests === 0),
      replica_seconds: hpa.replica_seconds > 0 && tide.replica_seconds <= TARGETS.replica_seconds_vs_hpa_default * hpa.replica_seconds,
    },
  };
  if (options.json) {
    console.log(JSON.stringify(result));
    return;
  }
  for (const [label, s] of [['tide', tide], ['hpa-default', hpa]] as const) {
    for (const r of s.trials) {
      console.log(`${label.padEnd(12)} trial ${r.trial} (${r.order === 1 ? 'first' : 'second'}, step ${r.step_after_decision_s} s after a decision, machine ${r.machine.cpu_busy_pct}% busy): first ready ${r.first_ready_s} s, p99 back under ${LATENCY_TARGET_MS} ms after ${r.recovered_s} s, failed ${r.failed_requests}, slow ${r.slow_requests} of ${r.requests}, ${r.replica_seconds} replica-seconds (peak ${r.peak_replicas})`);
    }
    console.log(`${label.padEnd(12)} median: first ready ${s.first_ready_s} s, recovered ${s.recovered_s} s, failed ${s.failed_requests}, ${s.replica_seconds} replica-seconds`);
  }
  console.log(`first replica ready ${speedup}x sooner with tide (target ≥ ${TARGETS.speedup_vs_hpa_default}x)`);
}

async function main(options: Options): Promise<void> {
  const phases: Record<PolicyName, number[]> = { 'tide': stratifiedPhases(options.trials), 'hpa-default': stratifiedPhases(options.trials) };
  const trials: Record<PolicyName, TrialResult[]> = { 'tide': [], 'hpa-default': [] };
  const cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  try {
    await buildSpikeImage(cluster);
    for (let index = 1; index <= options.trials; index++) {
      const order: PolicyName[] = index % 2 ? ['tide', 'hpa-default'] : ['hpa-default', 'tide'];
      for (const [i, policy] of order.entries()) {
        const result = await runPolicy(cluster, options, policy, { index, order: i + 1, phase: phases[policy][index - 1] });
        trials[policy].push(result);
        if (!options.json) console.log(`trial ${index} ${policy}: first ready ${result.first_ready_s} s, recovered ${result.recovered_s} s`);
      }
    }
  } finally {
    await cluster.stop();
  }
  report(options, trials);
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  // A bad option is the user's to fix: its message, not a stack, and nothing started.
  console.error(`autoscale: ${(error as Error).message}`);
  process.exit(2);
}
main(options).catch((error) => {
  console.error(error);
  process.exit(1);
});
