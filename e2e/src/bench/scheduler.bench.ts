/**
 * scheduler benchmark: Tide's scheduler against kube-scheduler's default profile (LeastAllocated,
 * which spreads), the same profile with NodeResourcesFit's MostAllocated strategy (Kubernetes' own
 * packing configuration) and offline first-fit-decreasing, on the same nodes and the same replicas
 * arriving online. Every strategy runs `--repeats` times, interleaved with the others; the medians
 * are reported, and every placement is checked against the nodes' allocatable first.
 * Options: --nodes N (1000) --replicas M (20000) --batches LIST (500,100: Tide's cycle sizes; the first
 * is `tide`, the others `tide_batch_<B>`; --batch B for one) --repeats R (5) --seed S (1)
 * --trace FILE --node-cpu MILLICORES --node-memory BYTES (replay, homogeneous nodes) --json.
 * The top-level figures are on homogeneous nodes, where a valid lower bound can be computed; a
 * synthetic run also reports a heterogeneous cluster under `heterogeneous`.
 */
import * as path from 'node:path';
import type { NodeInfo, PendingReplica } from '@tide/scheduler';
import { seeded } from '@tide/scheduler/testing';
import { Placement, ffdPlacement } from './scheduler.baselines';
import { lowerBound } from './scheduler.bound';
import { StrategyResult, checkPlacement, medianResult, summarizePlacement } from './scheduler.check';
import { ScoringStrategy, kubePlacement } from './scheduler.kube';
import { tidePlacement } from './scheduler.tide';
import { HOMOGENEOUS_SHAPE, Shape, node, syntheticNodes, syntheticReplicas, traceReplicas } from './scheduler.workload';

interface Options {
  nodes?: number;
  replicas: number;
  batches: number[];
  repeats: number;
  seed: number;
  trace?: string;
  shape: Shape;
  json: boolean;
}

export const LOWER_BOUND_MEANING = 'a valid lower bound: no placement can use fewer nodes; the optimum may need more';

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const positive = (name: string, raw: string | undefined, integer = false): number | undefined => {
    if (raw === undefined) return undefined;
    const parsed = Number(raw);
    if (!Number.isFinite(parsed) || parsed <= 0 || (integer && !Number.isInteger(parsed))) {
      throw new Error(`--${name} wants a positive ${integer ? 'whole ' : ''}number, got "${raw}"`);
    }
    return parsed;
  };
  const number = (name: string, integer = false) => positive(name, value(name), integer);
  const batches = value('batches')?.split(',').map((b) => positive('batches', b, true)!);
  if (batches && new Set(batches).size !== batches.length) throw new Error(`--batches lists a size twice: "${value('batches')}"`);
  return {
    nodes: number('nodes', true),
    replicas: number('replicas', true) ?? 20_000,
    batches: batches ?? [number('batch', true) ?? 500, ...(value('batch') === undefined ? [100] : [])],
    repeats: number('repeats', true) ?? 5,
    seed: number('seed') ?? 1,
    trace: value('trace'),
    shape: { cpu: number('node-cpu') ?? HOMOGENEOUS_SHAPE.cpu, memory: number('node-memory') ?? HOMOGENEOUS_SHAPE.memory },
    json: argv.includes('--json'),
  };
}

interface Strategy {
  name: string;
  run(): Placement;
  /** Fields the result carries besides the figures (Tide's batch size). */
  about?: Record<string, number>;
}

/**
 * Tide at every batch size, the Kubernetes profiles and FFD. `variants` adds the costly ones: Tide
 * with a fresh snapshot per cycle (at the first batch size) and kube-scheduler scoring every node.
 */
function strategies(nodes: NodeInfo[], replicas: PendingReplica[], options: Options, variants: boolean): Strategy[] {
  const tide: Strategy[] = options.batches.map((batch, i) => ({
    name: i === 0 ? 'tide' : `tide_batch_${batch}`,
    about: { batch },
    run: () => tidePlacement(nodes, replicas, batch, false),
  }));
  const batch = options.batches[0];
  const snapshot: Strategy = { name: 'tide_snapshot_per_cycle', about: { batch }, run: () => tidePlacement(nodes, replicas, batch, true) };
  // The same seed every run: a repeat makes the same decisions, only its time differs.
  const kube = (strategy: ScoringStrategy, percentageOfNodesToScore: number, defaultSpread: boolean) => () =>
    kubePlacement(nodes, replicas, { strategy, percentageOfNodesToScore, defaultSpread }, seeded(options.seed + 2));
  return [
    ...tide,
    ...(variants ? [snapshot] : []),
    { name: 'spread', run: kube('LeastAllocated', 0, true) },
    { name: 'k8s_most_allocated', run: kube('MostAllocated', 0, true) },
    { name: 'k8s_most_allocated_no_spread', run: kube('MostAllocated', 0, false) },
    ...(variants ? [{ name: 'k8s_most_allocated_all_nodes_no_spread', run: kube('MostAllocated', 100, false) }] : []),
    { name: 'ffd', run: () => ffdPlacement(nodes, replicas) },
  ];
}

/**
 * Each repeat runs every strategy once, starting one further along the list each time, so that no
 * strategy always follows the same one (garbage left behind, a warm or cold cache).
 */
function compare(nodes: NodeInfo[], replicas: PendingReplica[], options: Options, variants: boolean): Record<string, StrategyResult> {
  const list = strategies(nodes, replicas, options, variants);
  const runs = new Map<string, StrategyResult[]>(list.map((s) => [s.name, []]));
  for (let r = 0; r < options.repeats; r++) {
    for (let k = 0; k < list.length; k++) {
      const strategy = list[(k + r) % list.length];
      const placement = strategy.run();
      checkPlacement(strategy.name, nodes, replicas, placement);
      runs.get(strategy.name)!.push(summarizePlacement(placement));
    }
  }
  return Object.fromEntries(list.map((s) => [s.name, { ...s.about, ...medianResult(runs.get(s.name)!) }]));
}

export function runSchedulerBench(options: Options): Record<string, unknown> {
  const random = seeded(options.seed);
  const replicas = options.trace ? traceReplicas(options.trace, options.replicas) : syntheticReplicas(options.replicas, random);
  const bound = lowerBound(replicas, options.shape);
  // A trace says nothing of the cluster: give it half again the lower bound unless told.
  const nodeCount = options.nodes ?? (options.trace ? Math.ceil(bound.nodes * 1.5) : 1000);
  const homogeneous = Array.from({ length: nodeCount }, (_, i) => node(`node-${i}`, options.shape));
  const results = compare(homogeneous, replicas, options, true);
  for (const r of Object.values(results)) r.nodes_used_over_lower_bound = Number((r.nodes_used / bound.nodes).toFixed(4));
  const heterogeneous = options.trace ? undefined : syntheticNodes(nodeCount, seeded(options.seed + 1), false);
  return {
    benchmark: 'scheduler',
    workload: options.trace ? `trace ${path.basename(options.trace)}` : 'synthetic',
    nodes: nodeCount,
    replicas: replicas.length,
    batch: options.batches[0],
    batches: options.batches,
    repeats: options.repeats,
    seed: options.seed,
    node_shape: options.shape,
    lower_bound: bound.nodes,
    lower_bound_is: LOWER_BOUND_MEANING,
    lower_bound_by: bound.by,
    ...results,
    ...(heterogeneous ? { heterogeneous: compare(heterogeneous, replicas, options, false) } : {}),
  };
}

function report(result: Record<string, unknown>): void {
  console.log(`scheduler: ${result.replicas} replicas, ${result.nodes} nodes, ${result.workload}; medians of ${result.repeats} runs`);
  console.log(`  lower bound ${result.lower_bound} nodes (${LOWER_BOUND_MEANING})`);
  for (const [name, value] of Object.entries(result)) {
    if (typeof value !== 'object' || value === null || !('placements_per_sec' in value)) continue;
    const r = value as StrategyResult;
    console.log(`  ${name.padEnd(36)} ${String(r.placements_per_sec).padStart(9)}/s  p99 cycle ${r.p99_cycle_ms} ms  nodes ${r.nodes_used}` +
      (r.nodes_used_over_lower_bound ? ` (${r.nodes_used_over_lower_bound} × bound)` : '') + (r.unschedulable ? `  ${r.unschedulable} unplaced` : ''));
  }
}

if (require.main === module) {
  try {
    const options = parseOptions(process.argv.slice(2));
    const result = runSchedulerBench(options);
    if (!options.json) report(result);
    console.log(JSON.stringify(result));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
