/**
 * Ahead of the peak, the node autoscaler's side, pure: the replicas a service will want within a
 * node's boot time (a scheduled floor that fires within it; in predictive mode the autoscaler's
 * forecast over it) beyond those it has become *expected* replicas. The node autoscaler's what-if
 * places them with the pending ones (`planScaleUp`), so the nodes they need are Ready when the floor
 * fires or the load rises, and the empty nodes they would take are not handed back meanwhile
 * (`emptyNodesExpected`, `planScaleDown`'s `keep`). Nothing is bound: the autoscaler still decides
 * when the replicas are made.
 */
import { Service } from '@tide/api';
import { floorAhead, resolvePolicy } from '@tide/autoscaler';
import { NodeInfo, PendingReplica, scheduleBatch } from '@tide/scheduler';
import { newReplica } from './replica.factory';
import { toPending } from './scheduler.input';

export interface WantedAhead {
  replicas: number;
  /** What asks for them ("schedule singles-day", "forecast"), when above the count now. */
  why?: string;
}

/**
 * The replicas `service` will want within `leadMs`: the highest of its count now, the floor ahead
 * (a schedule firing within the lead) and `forecast` (the autoscaler's forecast over the lead, in
 * predictive mode), at most maxReplicas.
 */
export function wantedAhead(service: Service, nowMs: number, leadMs: number, forecast?: number): WantedAhead {
  const now = service.spec.replicas;
  if (!service.spec.autoscale) return { replicas: now };
  const policy = resolvePolicy(service.spec.autoscale);
  const floor = floorAhead(policy, nowMs, leadMs);
  const candidates: { replicas: number; why: string }[] = [
    { replicas: floor.replicas, why: floor.schedule ? `schedule ${floor.schedule.name ?? `"${floor.schedule.source}"`}` : 'minReplicas' },
    ...(forecast !== undefined ? [{ replicas: forecast, why: 'forecast' }] : []),
  ];
  let best: WantedAhead = { replicas: now };
  for (const c of candidates) {
    const replicas = Math.min(policy.maxReplicas, c.replicas);
    if (replicas > best.replicas) best = { replicas, why: c.why };
  }
  return best;
}

/** `count` replicas of the service's shape that do not exist yet, named apart from any real one. */
export function expectedReplicas(service: Service, count: number): PendingReplica[] {
  if (count <= 0) return [];
  const shape = toPending(newReplica(service, () => 0));
  return Array.from({ length: count }, (_, i) => ({ ...shape, name: `${service.metadata.name}-expected-${i}` }));
}

/**
 * Where the expected replicas would start, as the scheduler would place them over the registered
 * nodes now: per node, how many. The image and the warm pool are readied there ahead (the image
 * puller already pulls a service's image to every open node; the agent's warm pool boots this many
 * inits, `WarmPool.expect`), so the replicas start warm when the floor fires or the load rises.
 */
export function startsAhead(nodes: readonly NodeInfo[], expected: readonly PendingReplica[]): Map<string, number> {
  const starts = new Map<string, number>();
  if (expected.length === 0) return starts;
  for (const b of scheduleBatch([...nodes], [...expected]).bindings) starts.set(b.node, (starts.get(b.node) ?? 0) + 1);
  return starts;
}

/**
 * How many empty nodes the expected replicas would take, as the scheduler would place them over
 * the registered nodes now (fuller ones first, by its own scoring): those stay while they are expected.
 */
export function emptyNodesExpected(nodes: readonly NodeInfo[], expected: readonly PendingReplica[]): number {
  const empty = new Set(nodes.filter((n) => n.requested.cpu === 0 && n.requested.memory === 0).map((n) => n.name));
  if (empty.size === 0) return 0;
  return [...startsAhead(nodes, expected).keys()].filter((node) => empty.has(node)).length;
}
