/**
 * The `day` benchmark's discrete-time run: one second at a time over the trace window, both
 * policies on their own modelled cluster with the same demand and the same starting state. Each
 * second: the clock advances (nodes boot, replicas become ready), the policy's loops run, then the
 * second's demand meets the ready replicas (day.cluster.ts keeps the accounts).
 */
import { seeded } from '@tide/scheduler/testing';
import { BaselineContestant } from './day.baseline';
import { MinutePoint, Totals, round } from './day.cluster';
import { DayModel, peakRps, replicasPerNode } from './day.setup';
import { DEFAULT_TIDE, TideContestant, TideSettings } from './day.tide';
import { TraceWindow } from './day.trace';

export interface PolicyResult extends Totals {
  events: Record<string, number>;
}

export interface DayResult {
  tide: PolicyResult;
  baseline: PolicyResult;
  node_hours_ratio: number;
  /** What any policy that holds the baseline's target would need at the least: see `targetBound`. */
  bound: { node_hours: number; replica_hours: number; ratio_to_baseline: number };
  /** The same at Tide's target. */
  boundAtTideTarget: { node_hours: number; replica_hours: number; ratio_to_baseline: number };
  /**
   * The same at the replicas' capacity: a clairvoyant policy with no spare at all. No policy that
   * drops no request can spend less; a window where this is above the target ratio cannot meet it.
   */
  boundAtCapacity: { node_hours: number; replica_hours: number; ratio_to_baseline: number };
  series: { minuteMs: number[]; tide: MinutePoint[]; baseline: MinutePoint[] };
}

interface Contestant {
  cluster: { advance(nowMs: number): boolean; account(demandRps: number): void; totals(): Totals; series: MinutePoint[] };
  events: Map<string, number>;
  start(nowMs: number, nodes: number, replicas: number, history: Map<number, number>): Promise<void>;
  tick(nowMs: number, demandRps: number): Promise<void>;
}

/** Requests per second in each minute, the busiest minute scaled to the model's peak. */
export function demandPerMinute(window: TraceWindow, model: DayModel): number[] {
  const scale = peakRps(model) / (window.busiestMinute.count / 60);
  return window.counts.map((count) => (count / 60) * scale);
}

/** Where both start: the replicas the first minute's demand needs at the target, on as few nodes as hold them. */
export function startingState(model: DayModel, firstRps: number): { replicas: number; nodes: number } {
  const replicas = Math.min(model.maxReplicas, Math.max(model.minReplicas, Math.ceil(firstRps / model.targetRps)));
  return { replicas, nodes: Math.min(model.maxNodes, Math.max(model.minNodes, Math.ceil(replicas / replicasPerNode(model)))) };
}

/**
 * The floor under any policy that keeps replicas at the target: each minute exactly the replicas its
 * demand needs at `targetRps` (at least minReplicas), packed perfectly onto nodes (at least
 * minNodes), with no boot, start or reaction time. A node-hours ratio below bound/baseline needs
 * replicas run hotter than the target, which this benchmark does not allow itself.
 */
export function targetBound(demand: number[], model: DayModel): { node_hours: number; replica_hours: number } {
  let replicaMinutes = 0;
  let nodeMinutes = 0;
  for (const rps of demand) {
    const replicas = Math.min(model.maxReplicas, Math.max(model.minReplicas, Math.ceil(rps / model.targetRps)));
    replicaMinutes += replicas;
    nodeMinutes += Math.max(model.minNodes, Math.ceil(replicas / replicasPerNode(model)));
  }
  return { node_hours: round(nodeMinutes / 60, 2), replica_hours: round(replicaMinutes / 60, 2) };
}

/**
 * How a minute's requests spread over its seconds: `step` (default) evenly, so the rate jumps at each
 * minute's start; `linear` along a line through the minutes' means (each second's rate between its
 * minute's mean and its neighbour's), for a load that changes continuously. The trace only gives
 * minutes; both are models, `step` the harder one for any policy with less headroom than a minute's rise.
 */
export type DemandShape = 'step' | 'linear';

export function demandAt(demand: number[], second: number, shape: DemandShape): number {
  const minute = Math.floor(second / 60);
  if (shape === 'step') return demand[minute];
  // The mean of a minute sits at its middle; between two middles the rate is a straight line.
  const at = (second % 60 + 0.5) / 60 - 0.5;
  const other = demand[Math.min(demand.length - 1, Math.max(0, minute + Math.sign(at)))];
  return demand[minute] + (other - demand[minute]) * Math.abs(at);
}

export async function runDay(window: TraceWindow, model: DayModel, settings: TideSettings = DEFAULT_TIDE, seed = 1, shape: DemandShape = 'step'): Promise<DayResult> {
  const demand = demandPerMinute(window, model);
  const tide = new TideContestant(model, settings, seeded(seed));
  const baseline = new BaselineContestant(model, seeded(seed + 1));
  const contestants: Contestant[] = [tide, baseline];
  const start = startingState(model, demand[0]);
  // The days before the window at the same scale: what a predictive autoscaler would remember.
  const scale = peakRps(model) / (window.busiestMinute.count / 60);
  const history = new Map([...window.before].map(([ms, count]) => [ms, (count / 60) * scale]));
  for (const c of contestants) await c.start(window.startMs, start.nodes, start.replicas, history);
  for (let second = 0; second < demand.length * 60; second++) {
    const nowMs = window.startMs + second * 1000;
    const rps = demandAt(demand, second, shape);
    for (const c of contestants) {
      c.cluster.advance(nowMs);
      await c.tick(nowMs, rps);
      c.cluster.account(rps);
    }
  }
  const result = (c: Contestant): PolicyResult => ({ ...c.cluster.totals(), events: Object.fromEntries([...c.events].sort()) });
  const [t, b] = [result(tide), result(baseline)];
  const bound = targetBound(demand, model);
  const tideBound = targetBound(demand, { ...model, targetRps: settings.targetRps });
  const capacityBound = targetBound(demand, { ...model, targetRps: model.capacityRps });
  return {
    tide: t, baseline: b, node_hours_ratio: round(t.node_hours / b.node_hours, 3),
    bound: { ...bound, ratio_to_baseline: round(bound.node_hours / b.node_hours, 3) },
    boundAtTideTarget: { ...tideBound, ratio_to_baseline: round(tideBound.node_hours / b.node_hours, 3) },
    boundAtCapacity: { ...capacityBound, ratio_to_baseline: round(capacityBound.node_hours / b.node_hours, 3) },
    series: { minuteMs: demand.map((_, i) => window.startMs + i * 60_000), tide: tide.cluster.series, baseline: baseline.cluster.series },
  };
}
