/**
 * The offline reference Tide's scheduler is measured against (the Kubernetes ones are in
 * scheduler.kube.ts), written for speed so that the comparison is about decisions:
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
