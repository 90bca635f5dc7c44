/**
 * The two references Tide's scheduler is measured against, written for speed so that the comparison
 * is about decisions, not implementation effort:
 * - spread: the Kubernetes default scheduler's resource scoring, one pod per cycle: NodeResourcesFit
 *   filter; LeastAllocated + BalancedAllocation scores (weight 1 each); percentageOfNodesToScore's
 *   adaptive default (50% − nodes/125, at least 5%, at least 100 nodes); the search starts where
 *   the previous one stopped; ties broken at random (seeded).
 * - ffd: offline first-fit-decreasing: every replica known in advance, largest dominant share first,
 *   each into the first node (in node order) it fits, found with a max-free segment tree.
 */
import type { NodeInfo, PendingReplica } from '@tide/scheduler';

export interface Placement {
  /** Node index per replica, -1 when it fit nowhere. */
  nodeOf: Int32Array;
  /** Milliseconds per scheduling cycle. */
  cycleMs: number[];
}

function freeArrays(nodes: readonly NodeInfo[]): { cpu: Float64Array; memory: Float64Array } {
  return {
    cpu: Float64Array.from(nodes, (n) => n.allocatable.cpu - n.requested.cpu),
    memory: Float64Array.from(nodes, (n) => n.allocatable.memory - n.requested.memory),
  };
}

/** Kubernetes' numFeasibleNodesToFind with the default percentageOfNodesToScore (0 = adaptive). */
export function nodesToFind(nodes: number): number {
  if (nodes < 100) return nodes;
  const percentage = Math.max(5, 50 - Math.floor(nodes / 125));
  return Math.max(100, Math.floor((nodes * percentage) / 100));
}

export function spreadPlacement(nodes: readonly NodeInfo[], replicas: readonly PendingReplica[], random: () => number): Placement {
  const free = freeArrays(nodes);
  const n = nodes.length;
  const toFind = nodesToFind(n);
  const nodeOf = new Int32Array(replicas.length).fill(-1);
  const cycleMs: number[] = [];
  let start = 0;
  replicas.forEach((replica, i) => {
    const began = performance.now();
    let found = 0;
    let best = -1;
    let bestScore = -1;
    let ties = 0;
    let visited = 0;
    for (; visited < n && found < toFind; visited++) {
      const j = (start + visited) % n;
      if (free.cpu[j] < replica.cpu || free.memory[j] < replica.memory) continue;
      found++;
      const cpu = (free.cpu[j] - replica.cpu) / nodes[j].allocatable.cpu;
      const memory = (free.memory[j] - replica.memory) / nodes[j].allocatable.memory;
      // LeastAllocated: mean free fraction × 100; BalancedAllocation: (1 − std of used fractions) × 100.
      const score = Math.floor(((cpu + memory) / 2) * 100) + Math.floor((1 - Math.abs(cpu - memory) / 2) * 100);
      if (score > bestScore) [best, bestScore, ties] = [j, score, 1];
      else if (score === bestScore && random() * ++ties < 1) best = j;
    }
    start = (start + visited) % n;
    if (best >= 0) {
      free.cpu[best] -= replica.cpu;
      free.memory[best] -= replica.memory;
      nodeOf[i] = best;
    }
    cycleMs.push(performance.now() - began);
  });
  return { nodeOf, cycleMs };
}

/** A segment tree of the largest free CPU and memory below each node: the first fit in O(log n) steps. */
class MaxFreeTree {
  private readonly size: number;
  private readonly cpu: Float64Array;
  private readonly memory: Float64Array;

  constructor(free: { cpu: Float64Array; memory: Float64Array }) {
    this.size = 1 << Math.ceil(Math.log2(Math.max(1, free.cpu.length)));
    this.cpu = new Float64Array(2 * this.size).fill(-Infinity);
    this.memory = new Float64Array(2 * this.size).fill(-Infinity);
    free.cpu.forEach((c, i) => this.set(i, c, free.memory[i]));
  }

  set(index: number, cpu: number, memory: number): void {
    let i = index + this.size;
    this.cpu[i] = cpu;
    this.memory[i] = memory;
    for (i >>= 1; i >= 1; i >>= 1) {
      this.cpu[i] = Math.max(this.cpu[2 * i], this.cpu[2 * i + 1]);
      this.memory[i] = Math.max(this.memory[2 * i], this.memory[2 * i + 1]);
    }
  }

  /** The first leaf with both free amounts large enough, or -1. */
  firstFit(cpu: number, memory: number, i = 1): number {
    if (this.cpu[i] < cpu || this.memory[i] < memory) return -1;
    if (i >= this.size) return i - this.size;
    const left = this.firstFit(cpu, memory, 2 * i);
    return left >= 0 ? left : this.firstFit(cpu, memory, 2 * i + 1);
  }
}

export function ffdPlacement(nodes: readonly NodeInfo[], replicas: readonly PendingReplica[]): Placement {
  const began = performance.now();
  const free = freeArrays(nodes);
  const maxCpu = Math.max(1, ...nodes.map((n) => n.allocatable.cpu));
  const maxMemory = Math.max(1, ...nodes.map((n) => n.allocatable.memory));
  const share = replicas.map((r) => Math.max(r.cpu / maxCpu, r.memory / maxMemory));
  const order = Array.from(replicas.keys()).sort((a, b) => share[b] - share[a] || a - b);
  const tree = new MaxFreeTree(free);
  const nodeOf = new Int32Array(replicas.length).fill(-1);
  for (const i of order) {
    const j = tree.firstFit(replicas[i].cpu, replicas[i].memory);
    if (j < 0) continue;
    free.cpu[j] -= replicas[i].cpu;
    free.memory[j] -= replicas[i].memory;
    tree.set(j, free.cpu[j], free.memory[j]);
    nodeOf[i] = j;
  }
  // Offline: the whole workload is one decision.
  return { nodeOf, cycleMs: [performance.now() - began] };
}
