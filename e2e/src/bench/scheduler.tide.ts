/**
 * Tide's scheduler as the control plane runs it: arrivals gathered into cycles of `batch`, each placed
 * by one schedule() call (only that call is timed).
 */
import { NodeInfo, PendingReplica, ScheduleResult, Scheduler, scheduleBatch } from '@tide/scheduler';
import type { Placement } from './scheduler.baselines';
import { PlacementError } from './scheduler.check';

/**
 * `rebuild` makes a new Scheduler from a fresh snapshot every cycle (what the control plane pays when
 * its view is rebuilt); otherwise one Scheduler keeps its index between cycles, as the control plane's
 * scheduler view does.
 */
export function tidePlacement(nodes: readonly NodeInfo[], replicas: readonly PendingReplica[], batch: number, rebuild: boolean): Placement {
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
    checkCovers(cycle, result);
    for (const { replica, node: name } of result.bindings) {
      const j = index.get(name);
      if (j === undefined) throw new PlacementError(`tide: bound ${replica.name} to ${name}, which is no node of the cluster`);
      nodeOf[order.get(replica)!] = j;
      if (rebuild) apply(snapshot[j], replica);
    }
  }
  return { nodeOf, cycleMs };
}

/** Every replica of the cycle comes back exactly once, bound or unschedulable: none is lost or doubled. */
function checkCovers(cycle: readonly PendingReplica[], result: ScheduleResult): void {
  const seen = new Set<PendingReplica>();
  for (const replica of [...result.bindings.map((b) => b.replica), ...result.unschedulable.map((u) => u.replica)]) {
    if (seen.has(replica)) throw new PlacementError(`tide: replica ${replica.name} answered twice in one cycle`);
    seen.add(replica);
  }
  const missing = cycle.find((r) => !seen.has(r));
  if (missing || seen.size !== cycle.length) {
    throw new PlacementError(`tide: ${missing?.name ?? 'a replica'} neither bound nor unschedulable`);
  }
}

/** What the control plane's next snapshot shows after a binding was committed (untimed). */
function apply(target: NodeInfo, replica: PendingReplica): void {
  target.requested.cpu += replica.cpu;
  target.requested.memory += replica.memory;
  const key = `${replica.namespace}/${replica.service}`;
  target.replicasOfService![key] = (target.replicasOfService![key] ?? 0) + 1;
}
