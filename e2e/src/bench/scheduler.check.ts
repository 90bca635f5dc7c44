/**
 * What every strategy's placement must satisfy before its figures count, and how runs are summed up.
 * A strategy that oversubscribes a node would pack better than any honest one, so a placement with
 * a node over its CPU or memory allocatable fails the benchmark (an error, exit status 1).
 */
import type { NodeInfo, PendingReplica } from '@tide/scheduler';
import type { Placement } from './scheduler.baselines';

export interface StrategyResult {
  placements_per_sec: number;
  p99_cycle_ms: number;
  nodes_used: number;
  unschedulable: number;
  nodes_used_over_lower_bound?: number;
}

export class PlacementError extends Error {}

/**
 * Every replica is on a node that exists or counted unplaced (-1), and no node holds more than its
 * allocatable, counting what it held before the run.
 */
export function checkPlacement(strategy: string, nodes: readonly NodeInfo[], replicas: readonly PendingReplica[], placement: Placement): void {
  if (placement.nodeOf.length !== replicas.length) {
    throw new PlacementError(`${strategy}: placed ${placement.nodeOf.length} replicas of ${replicas.length}`);
  }
  const cpu = Float64Array.from(nodes, (n) => n.requested.cpu);
  const memory = Float64Array.from(nodes, (n) => n.requested.memory);
  placement.nodeOf.forEach((j, i) => {
    if (j === -1) return;
    if (!(j >= 0 && j < nodes.length)) throw new PlacementError(`${strategy}: replica ${replicas[i].name} on node index ${j}, which does not exist`);
    cpu[j] += replicas[i].cpu;
    memory[j] += replicas[i].memory;
  });
  nodes.forEach((node, j) => {
    if (cpu[j] > node.allocatable.cpu) {
      throw new PlacementError(`${strategy}: node ${node.name} over its CPU allocatable: ${cpu[j]}m requested of ${node.allocatable.cpu}m`);
    }
    if (memory[j] > node.allocatable.memory) {
      throw new PlacementError(`${strategy}: node ${node.name} over its memory allocatable: ${memory[j]} bytes requested of ${node.allocatable.memory}`);
    }
  });
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarizePlacement(placement: Placement): StrategyResult {
  const placed = placement.nodeOf.filter((j) => j >= 0).length;
  const seconds = placement.cycleMs.reduce((sum, ms) => sum + ms, 0) / 1000;
  return {
    placements_per_sec: Math.round(placed / Math.max(seconds, 1e-9)),
    p99_cycle_ms: Number(percentile(placement.cycleMs, 99).toFixed(3)),
    nodes_used: new Set(placement.nodeOf.filter((j) => j >= 0)).size,
    unschedulable: placement.nodeOf.length - placed,
  };
}

/** The median of each figure over repeated runs of one strategy, with the rates' spread. */
export function medianResult(runs: readonly StrategyResult[]): StrategyResult & { placements_per_sec_range: [number, number] } {
  const of = (key: keyof StrategyResult) => median(runs.map((r) => r[key] as number));
  const rates = runs.map((r) => r.placements_per_sec);
  return {
    placements_per_sec: Math.round(of('placements_per_sec')),
    p99_cycle_ms: Number(of('p99_cycle_ms').toFixed(3)),
    nodes_used: of('nodes_used'),
    unschedulable: of('unschedulable'),
    placements_per_sec_range: [Math.min(...rates), Math.max(...rates)],
  };
}
