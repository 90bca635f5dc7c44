/**
 * chaos benchmark (issue 17): each scenario (chaos/scenarios.ts) on a fresh two-node cluster, under
 * open-loop HTTP load on a published port and a steady stream of applies and scales; afterwards every
 * acknowledged write must be in etcd, no replica may have run twice, nothing may be left over, and
 * the service must recover (chaos/chaos.run.ts defines each figure).
 * Options: --scenario NAME (one of them; default all), --json (one line:
 * `{"benchmark":"chaos","scenarios":[{name, failed_requests, lost_writes, duplicate_replicas, leaked, recovery_s, ...}]}`).
 * Ports 21970-22069.
 */
import { SCENARIOS } from './chaos/scenarios';
import { ScenarioResult, runScenario } from './chaos/chaos.run';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const wanted = option('scenario');
  const log = (line: string) => !json && console.log(line);
  const chosen = wanted === undefined ? SCENARIOS : SCENARIOS.filter((s) => s.name === wanted);
  if (chosen.length === 0) {
    console.error(`--scenario: no scenario "${wanted}" (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})`);
    process.exit(2);
  }
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const started = performance.now();
    const result = await runScenario(scenario, log);
    results.push({ ...result, takes_serving_replicas: scenario.takesServingReplicas, run_s: Math.round((performance.now() - started) / 1000) });
    log(JSON.stringify(results.at(-1)));
  }
  const summary = { benchmark: 'chaos', scenarios: results };
  console.log(json ? JSON.stringify(summary) : JSON.stringify(summary, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
