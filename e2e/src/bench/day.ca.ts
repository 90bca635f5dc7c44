/**
 * The Kubernetes Cluster Autoscaler with its defaults (cluster-autoscaler FAQ, "What are the
 * parameters to CA?"), one node group, as the `day` benchmark's baseline:
 * - every `--scan-interval` (10 s);
 * - scale-up: pods the scheduler marked unschedulable are bin-packed (the default `binpacking`
 *   estimator: first fit, largest first) into the nodes still booting ("upcoming" nodes), then into
 *   new nodes of the group's template; never above the group's max;
 * - scale-down: a node whose requested CPU or memory (the larger share) is under
 *   `--scale-down-utilization-threshold` (0.5) and whose pods fit on the other nodes (filters only,
 *   nodes already chosen for removal excluded) is unneeded; unneeded for `--scale-down-unneeded-time`
 *   (10 min) it is removed, no sooner than `--scale-down-delay-after-add` (10 min) after a scale-up
 *   nor `--scale-down-delay-after-delete` (the scan interval) after a removal: empty ones in bulk
 *   (`--max-empty-bulk-delete` 10), one non-empty one at a time (`--max-drain-parallelism` 1), its pods
 *   evicted (their ReplicaSet makes new ones, the scheduler places them) before the node goes.
 */
import { NodeInfo, PendingReplica } from '@tide/scheduler';

export const CA_DEFAULTS = {
  scanIntervalMs: 10_000,
  utilizationThreshold: 0.5,
  unneededTimeMs: 600_000,
  delayAfterAddMs: 600_000,
  delayAfterDeleteMs: 10_000,
  maxEmptyBulkDelete: 10,
  maxDrainParallelism: 1,
};

export interface NodeGroup {
  template: { cpu: number; memory: number };
  minNodes: number;
  maxNodes: number;
}

/** What the autoscaler sees of the cluster at a scan. */
export interface CaView {
  /** Ready nodes, each with the pods on it (requests and names). */
  nodes: { info: NodeInfo; pods: PendingReplica[] }[];
  /** Nodes requested and not ready yet. */
  booting: number;
  /** Pods the scheduler could not place. */
  unschedulable: PendingReplica[];
}

export interface CaActions {
  add: number;
  /** Nodes to remove now, each with the pods to evict first (none for an empty node). */
  remove: { node: string; evict: string[] }[];
}

interface Room {
  cpu: number;
  memory: number;
}

function fits(room: Room, pod: PendingReplica): boolean {
  return pod.cpu <= room.cpu && pod.memory <= room.memory;
}

function take(room: Room, pod: PendingReplica): void {
  room.cpu -= pod.cpu;
  room.memory -= pod.memory;
}

export class ClusterAutoscalerModel {
  private lastScanMs = -Infinity;
  private lastScaleUpMs = -Infinity;
  private lastDeleteMs = -Infinity;
  private unneededSince = new Map<string, number>();

  constructor(private readonly group: NodeGroup, private readonly settings = CA_DEFAULTS) {}

  /** Whether a scan is due (the caller builds the view only then). */
  due(nowMs: number): boolean {
    return nowMs - this.lastScanMs >= this.settings.scanIntervalMs;
  }

  /** One pass of the autoscaler. */
  scan(nowMs: number, view: CaView): CaActions {
    this.lastScanMs = nowMs;
    const size = view.nodes.length + view.booting;
    const add = Math.min(this.estimate(view), Math.max(0, this.group.maxNodes - size));
    if (add > 0) {
      this.lastScaleUpMs = nowMs;
      return { add, remove: [] };
    }
    return { add: 0, remove: this.scaleDown(nowMs, view, size) };
  }

  /** The binpacking estimator: upcoming nodes first, then as few new template nodes as first fit needs. */
  private estimate(view: CaView): number {
    const pods = view.unschedulable.filter((p) => fits({ ...this.group.template }, p))
      .sort((a, b) => b.cpu / this.group.template.cpu + b.memory / this.group.template.memory - a.cpu / this.group.template.cpu - a.memory / this.group.template.memory);
    const bins: Room[] = Array.from({ length: view.booting }, () => ({ ...this.group.template }));
    const upcoming = bins.length;
    for (const pod of pods) {
      let bin = bins.find((b) => fits(b, pod));
      if (!bin) bins.push((bin = { ...this.group.template }));
      take(bin, pod);
    }
    return bins.length - upcoming;
  }

  private scaleDown(nowMs: number, view: CaView, size: number): { node: string; evict: string[] }[] {
    const unneeded = this.unneeded(view);
    const next = new Map<string, number>();
    for (const name of unneeded) next.set(name, this.unneededSince.get(name) ?? nowMs);
    this.unneededSince = next;
    const s = this.settings;
    if (nowMs - this.lastScaleUpMs < s.delayAfterAddMs || nowMs - this.lastDeleteMs < s.delayAfterDeleteMs) return [];
    const due = unneeded.filter((name) => nowMs - next.get(name)! >= s.unneededTimeMs);
    const podsOf = new Map(view.nodes.map((n) => [n.info.name, n.pods]));
    let budget = Math.max(0, size - this.group.minNodes);
    const empty = due.filter((n) => podsOf.get(n)!.length === 0).slice(0, Math.min(budget, s.maxEmptyBulkDelete));
    budget -= empty.length;
    const drained = due.filter((n) => podsOf.get(n)!.length > 0).slice(0, Math.min(budget, s.maxDrainParallelism));
    const remove = [...empty.map((node) => ({ node, evict: [] })), ...drained.map((node) => ({ node, evict: podsOf.get(node)!.map((p) => p.name) }))];
    if (remove.length > 0) this.lastDeleteMs = nowMs;
    for (const { node } of remove) this.unneededSince.delete(node);
    return remove;
  }

  /**
   * Nodes under the utilisation threshold whose pods all fit on the other nodes, least used first;
   * each one found takes its pods' room on the nodes that would receive them, and is itself no
   * destination for the next (as the autoscaler's removal simulation does).
   */
  private unneeded(view: CaView): string[] {
    const room = new Map(view.nodes.map((n) => [n.info.name, {
      cpu: n.info.allocatable.cpu - n.info.requested.cpu, memory: n.info.allocatable.memory - n.info.requested.memory,
    }]));
    const usage = (n: NodeInfo) => Math.max(n.requested.cpu / n.allocatable.cpu, n.requested.memory / n.allocatable.memory);
    const candidates = view.nodes.filter((n) => !n.info.cordoned && usage(n.info) < this.settings.utilizationThreshold)
      .sort((a, b) => usage(a.info) - usage(b.info));
    const removed = new Set<string>();
    const unneeded: string[] = [];
    for (const candidate of candidates) {
      const trial = new Map([...room].filter(([name]) => name !== candidate.info.name && !removed.has(name)).map(([name, r]) => [name, { ...r }]));
      const placed = candidate.pods.every((pod) => {
        const target = [...trial.values()].find((r) => fits(r, pod));
        if (target) take(target, pod);
        return target !== undefined;
      });
      if (!placed) continue;
      for (const [name, r] of trial) room.set(name, r);
      removed.add(candidate.info.name);
      unneeded.push(candidate.info.name);
    }
    return unneeded;
  }
}
