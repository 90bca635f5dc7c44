/**
 * scheduler benchmark: Tide's scheduler against a spreading scheduler (the Kubernetes default) and
 * offline first-fit-decreasing, on the same nodes and the same replicas arriving online.
 * Options: --nodes N (1000) --replicas M (20000) --batch B (500 arrivals per Tide cycle) --seed S (1)
 * --trace FILE --node-cpu MILLICORES --node-memory BYTES (replay, homogeneous nodes) --json.
 * The top-level figures are on homogeneous nodes, where the lower bound is exact; a synthetic run also
 * reports the heterogeneous cluster under `heterogeneous`.
 */
import { NodeInfo, PendingReplica, Scheduler, scheduleBatch } from '@tide/scheduler';
import { seeded } from '@tide/scheduler/dist/testing';
import { Placement, ffdPlacement, spreadPlacement } from './scheduler.baselines';
import { HOMOGENEOUS_SHAPE, Shape, lowerBound, node, syntheticNodes, syntheticReplicas, traceReplicas } from './scheduler.workload';

interface Options {
  nodes?: number;
  replicas: number;
  batch: number;
  seed: number;
  trace?: string;
  shape: Shape;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const number = (name: string): number | undefined => {
    const raw = value(name);
    if (raw === undefined) return undefined;
    const parsed = Number(raw);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} wants a positive number, got "${raw}"`);
    return parsed;
  };
  return {
    nodes: number('nodes'),
    replicas: number('replicas') ?? 20_000,
    batch: number('batch') ?? 500,
    seed: number('seed') ?? 1,
    trace: value('trace'),
    shape: { cpu: number('node-cpu') ?? HOMOGENEOUS_SHAPE.cpu, memory: number('node-memory') ?? HOMOGENEOUS_SHAPE.memory },
    json: argv.includes('--json'),
  };
}

export interface StrategyResult {
  placements_per_sec: number;
  p99_cycle_ms: number;
  nodes_used: number;
  unschedulable: number;
  nodes_used_over_lower_bound?: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function summarizePlacement(placement: Placement): StrategyResult {
  const placed = placement.nodeOf.filter((j) => j >= 0).length;
  const seconds = placement.cycleMs.reduce((sum, ms) => sum + ms, 0) / 1000;
  return {
    placements_per_sec: Math.round(placed / Math.max(seconds, 1e-9)),
    p99_cycle_ms: Number(percentile(placement.cycleMs, 99).toFixed(3)),
    nodes_used: new Set(placement.nodeOf.filter((j) => j >= 0)).size,
    unschedulable: placement.nodeOf.length - placed,
  };
}

/**
 * Tide as the control plane runs it: arrivals gathered into cycles of `batch`, each placed by one
 * schedule() call. `rebuild` makes a new Scheduler from a fresh snapshot every cycle (what the control
 * plane does today); otherwise one Scheduler keeps its index between cycles (a scheduler cache).
 */
function tidePlacement(nodes: NodeInfo[], replicas: PendingReplica[], batch: number, rebuild: boolean): Placement {
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  const order = new Map(replicas.map((r, i) => [r, i]));
  const nodeOf = new Int32Array(replicas.length).fill(-1);
  const cycleMs: number[] = [];
  const snapshot = nodes.map((n) => ({ ...n, requested: { ...n.requested }, replicasOfService: { ...n.replicasOfService } }));
  const cached = rebuild ? undefined : new Scheduler(snapshot);
  for (let start = 0; start < replicas.length; start += batch) {
    const cycle = replicas.slice(start, start + batch);
    const began = performance.now();
    const result = cached ? cached.schedule(cycle) : scheduleBatch(snapshot, cycle);
    cycleMs.push(performance.now() - began);
    for (const { replica, node: name } of result.bindings) {
      const j = index.get(name)!;
      nodeOf[order.get(replica)!] = j;
      if (rebuild) apply(snapshot[j], replica);
    }
  }
  return { nodeOf, cycleMs };
}

/** What the control plane's next snapshot shows after a binding was committed (untimed). */
function apply(target: NodeInfo, replica: PendingReplica): void {
  target.requested.cpu += replica.cpu;
  target.requested.memory += replica.memory;
  const key = `${replica.namespace}/${replica.service}`;
  target.replicasOfService![key] = (target.replicasOfService![key] ?? 0) + 1;
}

function compare(nodes: NodeInfo[], replicas: PendingReplica[], options: Options): Record<string, StrategyResult> {
  return {
    tide: summarizePlacement(tidePlacement(nodes, replicas, options.batch, false)),
    spread: summarizePlacement(spreadPlacement(nodes, replicas, seeded(options.seed + 2))),
    ffd: summarizePlacement(ffdPlacement(nodes, replicas)),
  };
}

export function runSchedulerBench(options: Options): Record<string, unknown> {
  const random = seeded(options.seed);
  const replicas = options.trace ? traceReplicas(options.trace, options.replicas) : syntheticReplicas(options.replicas, random);
  const bound = lowerBound(replicas, options.shape);
  // A trace says nothing of the cluster: give it half again the lower bound unless told.
  const nodeCount = options.nodes ?? (options.trace ? Math.ceil(bound * 1.5) : 1000);
  const homogeneous = Array.from({ length: nodeCount }, (_, i) => node(`node-${i}`, options.shape));
  const results = compare(homogeneous, replicas, options);
  for (const r of Object.values(results)) r.nodes_used_over_lower_bound = Number((r.nodes_used / bound).toFixed(4));
  const rebuilt = summarizePlacement(tidePlacement(homogeneous, replicas, options.batch, true));
  return {
    benchmark: 'scheduler',
    workload: options.trace ? `trace ${options.trace}` : 'synthetic',
    nodes: nodeCount,
    replicas: replicas.length,
    batch: options.batch,
    seed: options.seed,
    node_shape: options.shape,
    lower_bound: bound,
    ...results,
    tide_snapshot_per_cycle: { placements_per_sec: rebuilt.placements_per_sec, p99_cycle_ms: rebuilt.p99_cycle_ms, nodes_used: rebuilt.nodes_used },
    ...(options.trace ? {} : { heterogeneous: compare(syntheticNodes(nodeCount, seeded(options.seed + 1), false), replicas, options) }),
  };
}

function report(result: Record<string, unknown>): void {
  console.log(`scheduler: ${result.replicas} replicas, ${result.nodes} nodes, ${result.workload}; lower bound ${result.lower_bound} nodes`);
  for (const [name, value] of Object.entries(result)) {
    if (typeof value !== 'object' || value === null || !('placements_per_sec' in value)) continue;
    const r = value as StrategyResult;
    console.log(`  ${name.padEnd(24)} ${String(r.placements_per_sec).padStart(9)}/s  p99 cycle ${r.p99_cycle_ms} ms  nodes ${r.nodes_used}` +
      (r.nodes_used_over_lower_bound ? ` (${r.nodes_used_over_lower_bound} × bound)` : ''));
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
