/**
 * apply benchmark: time from `tsctl apply` of a 20-replica service to all 20 replicas Running on a
 * 2-node local cluster (real etcd, control plane, agents and containers). An untimed warm-up round
 * first (images unpacked, warm pools filled), then an odd number of timed rounds, so that the p50 is
 * one of them. Options: --replicas N (20), --nodes N (2), --rounds N (3, odd), --base-port P (17270), --json.
 * `breakdown_ms`: where each round's time went (apply-breakdown.ts), the median of each step over the rounds.
 */
import { TestCluster, running, waitFor } from '../harness';
import { RoundSteps, medianSteps, roundSteps } from './apply.breakdown';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

function manifest(name: string, replicas: number): string {
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  image: busybox
  command: ["sleep", "3600"]
  resources: { requests: { cpu: 10m, memory: 8Mi } }
  terminationGracePeriodSeconds: 0
`;
}

async function main(): Promise<void> {
  const replicas = option('replicas', 20);
  const nodes = option('nodes', 2);
  const rounds = option('rounds', 3);
  if (rounds % 2 !== 1) throw new Error(`--rounds ${rounds}: give an odd number, so that the p50 is one of the rounds`);
  const json = process.argv.includes('--json');
  const cluster = await TestCluster.start({ nodes, basePort: option('base-port', 17270) });
  const timesMs: number[] = [];
  const steps: RoundSteps[] = [];
  try {
    for (let round = -1; round < rounds; round++) {
      const name = round < 0 ? 'warm-up' : `bench-${round}`;
      const startedAtMs = Date.now();
      const started = performance.now();
      const applied = await cluster.apply(manifest(name, replicas));
      if (applied.code !== 0) throw new Error(applied.stderr);
      await waitFor(`${replicas} running`, async () => running(await cluster.replicas(name)).length === replicas, 180_000, 50);
      const ms = performance.now() - started;
      if (round >= 0) {
        timesMs.push(ms);
        steps.push(await roundSteps(cluster, name, startedAtMs, ms));
      }
      await cluster.tsctl(['delete', 'service', name]);
      await waitFor('replicas gone', async () => (await cluster.replicas(name)).length === 0, 120_000);
      if (!json) console.log(`${round < 0 ? 'warm-up (untimed)' : `round ${round + 1}`}: ${ms.toFixed(0)} ms`, round >= 0 ? steps[round] : '');
    }
  } finally {
    await cluster.stop();
  }
  const sorted = [...timesMs].sort((a, b) => a - b);
  const result = {
    benchmark: 'apply',
    replicas,
    nodes,
    rounds,
    apply_to_running_ms: timesMs.map((t) => Math.round(t)),
    apply_to_running_p50_ms: Math.round(sorted[Math.floor(sorted.length / 2)]),
    breakdown_ms: medianSteps(steps),
  };
  console.log(json ? JSON.stringify(result) : result);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
