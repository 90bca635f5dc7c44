/**
 * A model of kube-scheduler's default profile, one pod per scheduling cycle, written in typed arrays
 * so that the comparison is about decisions, not implementation effort. Taken from kubernetes'
 * pkg/scheduler (schedule_one.go, framework/plugins/noderesources, podtopologyspread):
 * - Filter: NodeResourcesFit (the pod's requests within allocatable − requested, CPU and memory).
 * - Sampling: percentageOfNodesToScore (0 = the adaptive default, 50% − nodes/125, at least 5% and
 *   100 nodes): filtering stops at that many feasible nodes, and the next pod's search starts where
 *   this one stopped. kube-scheduler filters in parallel, so its sample may differ by a few nodes.
 * - Score, with the default plugin set's weights, integer arithmetic as in Go:
 *   NodeResourcesFit ×1, strategy LeastAllocated (the default) or MostAllocated, cpu and memory
 *   weight 1 each; NodeResourcesBalancedAllocation ×1; PodTopologySpread ×2 with the system default
 *   constraints (ScheduleAnyway: hostname maxSkew 3, zone maxSkew 5), which apply to pods of a
 *   Service or ReplicaSet, as every replica here is. The nodes carry no zone label, so only the
 *   hostname constraint scores.
 * - selectHost: the highest total, ties broken at random (reservoir sampling, seeded).
 * Left out because they give every node the same score on this workload: TaintToleration (×3),
 * NodeAffinity (×2), InterPodAffinity (×2), ImageLocality (×1; the workload names no images),
 * VolumeBinding. Requests are taken as given (the 100m / 200Mi stand-ins apply only to missing ones).
 */
import type { NodeInfo, PendingReplica } from '@tide/scheduler';
import type { Placement } from './scheduler.baselines';

export type ScoringStrategy = 'LeastAllocated' | 'MostAllocated';

export interface KubeProfile {
  strategy: ScoringStrategy;
  /** 0: the adaptive default; 100: every feasible node is scored. */
  percentageOfNodesToScore: number;
  /**
   * PodTopologySpread's system default constraints (defaultingType System, the default); false is
   * defaultingType List with no constraints, which a cluster tuned for packing may set.
   */
  defaultSpread: boolean;
}

const MAX_NODE_SCORE = 100;
const WEIGHTS = { fit: 1, balanced: 1, topologySpread: 2 };
const HOSTNAME_MAX_SKEW = 3;

/** numFeasibleNodesToFind. */
export function nodesToFind(nodes: number, percentageOfNodesToScore = 0): number {
  if (nodes < 100) return nodes;
  const percentage = percentageOfNodesToScore > 0 ? percentageOfNodesToScore : Math.max(5, 50 - Math.floor(nodes / 125));
  return Math.min(nodes, Math.max(100, Math.floor((nodes * percentage) / 100)));
}

/** mostRequestedScore: (requested × 100) / capacity, requested including the incoming pod. */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  return Math.floor((Math.min(requested, capacity) * MAX_NODE_SCORE) / capacity);
}

/** leastRequestedScore: ((capacity − requested) × 100) / capacity. */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** NodeResourcesFit's score: Σ weight × resource score / Σ weight, weights cpu 1 and memory 1. */
export function resourceFitScore(strategy: ScoringStrategy, cpu: number, cpuCapacity: number, memory: number, memoryCapacity: number): number {
  const score = strategy === 'MostAllocated' ? mostRequestedScore : leastRequestedScore;
  return Math.floor((score(cpu, cpuCapacity) + score(memory, memoryCapacity)) / 2);
}

/** balancedResourceScorer with two resources: (1 − |f_cpu − f_memory| / 2) × 100, fractions capped at 1. */
export function balancedAllocationScore(cpu: number, cpuCapacity: number, memory: number, memoryCapacity: number): number {
  const fraction = (requested: number, capacity: number) => Math.min(1, requested / capacity);
  const std = Math.abs(fraction(cpu, cpuCapacity) - fraction(memory, memoryCapacity)) / 2;
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

/**
 * PodTopologySpread's hostname score and NormalizeScore over the scored nodes: a node's raw score is
 * round(matching pods × ln(scored nodes + 2) + maxSkew − 1); normalized, 100 × (max + min − raw) / max.
 */
export function topologySpreadScores(matching: ArrayLike<number>, count: number, out: Int32Array): void {
  const weight = Math.log(count + 2);
  let min = Infinity;
  let max = 0;
  for (let f = 0; f < count; f++) {
    const raw = Math.round(matching[f] * weight + HOSTNAME_MAX_SKEW - 1);
    out[f] = raw;
    min = Math.min(min, raw);
    max = Math.max(max, raw);
  }
  for (let f = 0; f < count; f++) out[f] = max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max + min - out[f])) / max);
}

/** The scheduler's cache: what is requested on each node, and each service's pods per node. */
class KubeModel {
  readonly cpu: Float64Array;
  readonly memory: Float64Array;
  readonly cpuCapacity: Float64Array;
  readonly memoryCapacity: Float64Array;
  private readonly podsOfService = new Map<string, Int32Array>();
  private readonly feasible: Int32Array;
  private readonly matching: Int32Array;
  private readonly spread: Int32Array;
  private readonly toFind: number;
  private start = 0;

  constructor(nodes: readonly NodeInfo[], private readonly profile: KubeProfile, private readonly random: () => number) {
    this.cpu = Float64Array.from(nodes, (n) => n.requested.cpu);
    this.memory = Float64Array.from(nodes, (n) => n.requested.memory);
    this.cpuCapacity = Float64Array.from(nodes, (n) => n.allocatable.cpu);
    this.memoryCapacity = Float64Array.from(nodes, (n) => n.allocatable.memory);
    this.feasible = new Int32Array(nodes.length);
    this.matching = new Int32Array(nodes.length);
    this.spread = new Int32Array(nodes.length);
    this.toFind = nodesToFind(nodes.length, profile.percentageOfNodesToScore);
    nodes.forEach((node, j) => {
      for (const [key, count] of Object.entries(node.replicasOfService ?? {})) this.pods(key)[j] += count;
    });
  }

  /** One scheduling cycle: the chosen node's index, or -1 when no node fits. */
  scheduleOne(replica: PendingReplica): number {
    const found = this.filter(replica);
    if (found === 0) return -1;
    const service = this.profile.defaultSpread ? this.podsOfService.get(`${replica.namespace}/${replica.service}`) : undefined;
    // No pod of the service anywhere (or no spreading): every node's spread score is the same, 100.
    if (service) {
      for (let f = 0; f < found; f++) this.matching[f] = service[this.feasible[f]];
      topologySpreadScores(this.matching, found, this.spread);
    }
    let best = -1;
    let bestScore = -1;
    let ties = 0;
    for (let f = 0; f < found; f++) {
      const j = this.feasible[f];
      const cpu = this.cpu[j] + replica.cpu;
      const memory = this.memory[j] + replica.memory;
      const score =
        WEIGHTS.fit * resourceFitScore(this.profile.strategy, cpu, this.cpuCapacity[j], memory, this.memoryCapacity[j]) +
        WEIGHTS.balanced * balancedAllocationScore(cpu, this.cpuCapacity[j], memory, this.memoryCapacity[j]) +
        WEIGHTS.topologySpread * (service ? this.spread[f] : MAX_NODE_SCORE);
      if (score > bestScore) [best, bestScore, ties] = [j, score, 1];
      else if (score === bestScore && this.random() * ++ties < 1) best = j;
    }
    this.bind(best, replica);
    return best;
  }

  /** Feasible nodes into `feasible`, from where the last search stopped, until enough are found. */
  private filter(replica: PendingReplica): number {
    const n = this.cpu.length;
    let found = 0;
    let visited = 0;
    for (; visited < n && found < this.toFind; visited++) {
      const j = (this.start + visited) % n;
      if (this.cpuCapacity[j] - this.cpu[j] < replica.cpu || this.memoryCapacity[j] - this.memory[j] < replica.memory) continue;
      this.feasible[found++] = j;
    }
    this.start = (this.start + visited) % n;
    return found;
  }

  private bind(j: number, replica: PendingReplica): void {
    this.cpu[j] += replica.cpu;
    this.memory[j] += replica.memory;
    this.pods(`${replica.namespace}/${replica.service}`)[j]++;
  }

  private pods(service: string): Int32Array {
    let pods = this.podsOfService.get(service);
    if (!pods) this.podsOfService.set(service, (pods = new Int32Array(this.cpu.length)));
    return pods;
  }
}

/** Pods in arrival order, one scheduling cycle each. */
export function kubePlacement(nodes: readonly NodeInfo[], replicas: readonly PendingReplica[], profile: KubeProfile, random: () => number): Placement {
  const model = new KubeModel(nodes, profile, random);
  const nodeOf = new Int32Array(replicas.length).fill(-1);
  const cycleMs = new Array<number>(replicas.length);
  replicas.forEach((replica, i) => {
    const began = performance.now();
    nodeOf[i] = model.scheduleOne(replica);
    cycleMs[i] = performance.now() - began;
  });
  return { nodeOf, cycleMs };
}
