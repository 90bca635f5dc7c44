/**
 * The `day` benchmark's hindsight reference: what the best sizing from the minutes before would
 * spend on a window, with everything in its favour but foresight.
 *
 * Each minute it holds ceil(level × (1 + headroom) / capacity) replicas (within min and max
 * replicas), where the level is the highest or the mean of the `k` minutes before (the first minute:
 * its own demand, as both policies start), on nodes packed perfectly (within min and max nodes), with
 * no boot, start or reaction time. A minute is an SLO-violation minute when its busiest second asks
 * for more than those replicas serve. Of every level (highest or mean, k in LEVEL_MINUTES) and headroom
 * (0 to MAX_HEADROOM by HEADROOM_STEP) it keeps the cheapest whose violation minutes are at most
 * `allowedMinutes`: the window's own future picks the headroom, which no running policy can do.
 *
 * It is a reference, not a bound: a policy with other knowledge (the shape of past days) can spend
 * less. But where it misses the targets, a policy that sizes from the recent minutes, whatever its
 * headroom rule, misses them too unless that rule beats the best fixed one chosen after the fact.
 */
import { DemandShape, demandAt } from './day.run';
import { DayModel, replicasPerNode } from './day.setup';
import { round } from './day.cluster';

export const LEVEL_MINUTES = [1, 2, 3, 5, 10] as const;
export const HEADROOM_STEP = 0.02;
export const MAX_HEADROOM = 1.5;

export interface HindsightReference {
  node_hours: number;
  replica_hours: number;
  slo_violation_minutes: number;
  /** The level it chose: `highest` or `mean` of `minutes` before. */
  level: 'highest' | 'mean';
  minutes: number;
  /** The headroom it chose over the level, as a fraction of the capacity (0.14 = 14%). */
  headroom: number;
}

/** Undefined when no level and headroom keeps to `allowedMinutes` (the max replicas or nodes are too few). */
export function hindsightReference(demand: number[], model: DayModel, shape: DemandShape, allowedMinutes: number): HindsightReference | undefined {
  const busiest = demand.map((_, minute) => {
    let peak = 0;
    for (let s = minute * 60; s < minute * 60 + 60; s++) peak = Math.max(peak, demandAt(demand, s, shape));
    return peak;
  });
  const perNode = replicasPerNode(model);
  let best: HindsightReference | undefined;
  let bestNodeMinutes = Infinity;
  for (const level of ['highest', 'mean'] as const) {
    for (const k of LEVEL_MINUTES) {
      const levels = demand.map((rps, minute) => {
        if (minute === 0) return rps;
        const before = demand.slice(Math.max(0, minute - k), minute);
        return level === 'highest' ? Math.max(...before) : before.reduce((a, b) => a + b, 0) / before.length;
      });
      // The cheapest headroom for this level is the smallest that keeps to the allowance: more only costs.
      for (let step = 0; step * HEADROOM_STEP <= MAX_HEADROOM + 1e-9; step++) {
        const headroom = round(step * HEADROOM_STEP, 2);
        let [violations, replicaMinutes, nodeMinutes] = [0, 0, 0];
        for (let minute = 0; minute < demand.length && violations <= allowedMinutes; minute++) {
          const wanted = Math.ceil((levels[minute] * (1 + headroom)) / model.capacityRps - 1e-9);
          const nodes = Math.min(model.maxNodes, Math.max(model.minNodes, Math.ceil(Math.max(model.minReplicas, wanted) / perNode)));
          const replicas = Math.min(model.maxReplicas, nodes * perNode, Math.max(model.minReplicas, wanted));
          if (busiest[minute] > replicas * model.capacityRps + 1e-9) violations++;
          replicaMinutes += replicas;
          nodeMinutes += nodes;
        }
        if (violations > allowedMinutes) continue;
        if (nodeMinutes < bestNodeMinutes) {
          bestNodeMinutes = nodeMinutes;
          best = { node_hours: round(nodeMinutes / 60, 2), replica_hours: round(replicaMinutes / 60, 2), slo_violation_minutes: violations, level, minutes: k, headroom };
        }
        break;
      }
    }
  }
  return best;
}
