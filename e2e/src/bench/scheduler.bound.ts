/**
 * A valid lower bound on the nodes of one shape that any placement of the replicas needs: no
 * scheduler, online or offline, can use fewer. It is not the optimum (packing by CPU and memory is
 * NP-hard and the optimum is not computed here); the optimum may need more nodes.
 *
 * Why it holds: on nodes of one shape, a placement is for each resource alone a one-dimensional bin
 * packing (a node's requests of that resource sum to at most its allocatable), so any lower bound of
 * one resource's bin packing bounds the pair. Replicas larger than a node in either resource fit
 * nowhere and are left out. Per resource, the largest of:
 * - volume: ⌈Σ requests / node⌉;
 * - Martello and Toth's L2 (1990): for a threshold e ≤ C/2, replicas above C/2 need a node each, those
 *   above C − e share theirs with no replica of size ≥ e, and replicas of [e, C/2] fit only in the
 *   room the (C/2, C − e] ones leave or on further nodes;
 * - dual feasible functions (Fekete and Schepers 2001): f maps sizes so that sizes summing to at most
 *   C map to values summing to at most 1, so ⌈Σ f(size)⌉ is a bound. Used: u_k ∘ U_e, where
 *   U_e(x) = 1 above 1 − e, x on [e, 1 − e], 0 below e; u_k(x) = x when (k+1)x is whole, else
 *   ⌊(k+1)x⌋ / k (for k = 1..10). Three 3/8 requests per 8/8 node: u_2 maps each to 1/2, so 30 of them
 *   need 15 nodes where volume says 12.
 * Sums are exact (BigInt): a float sum a hair above a whole number would round the bound up.
 */
import type { PendingReplica } from '@tide/scheduler';
import type { Shape } from './scheduler.workload';

export interface LowerBound {
  nodes: number;
  /** Each argument's value, so a reader sees which one binds. */
  by: { cpu_volume: number; memory_volume: number; cpu_l2: number; memory_l2: number; cpu_dff: number; memory_dff: number };
}

/** Sizes with their counts: the bounds loop over distinct sizes, not replicas. */
type Sizes = Map<bigint, bigint>;

const MAX_K = 10;

export function lowerBound(replicas: readonly PendingReplica[], shape: Shape): LowerBound {
  const cpu: Sizes = new Map();
  const memory: Sizes = new Map();
  for (const r of replicas) {
    if (r.cpu > shape.cpu || r.memory > shape.memory) continue;
    add(cpu, BigInt(r.cpu));
    add(memory, BigInt(r.memory));
  }
  const c = BigInt(shape.cpu);
  const m = BigInt(shape.memory);
  const by = {
    cpu_volume: volumeBound(cpu, c),
    memory_volume: volumeBound(memory, m),
    cpu_l2: martelloTothL2(cpu, c),
    memory_l2: martelloTothL2(memory, m),
    cpu_dff: dualFeasibleBound(cpu, c),
    memory_dff: dualFeasibleBound(memory, m),
  };
  return { nodes: Math.max(...Object.values(by)), by };
}

function add(sizes: Sizes, size: bigint): void {
  sizes.set(size, (sizes.get(size) ?? 0n) + 1n);
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

export function volumeBound(sizes: Sizes, capacity: bigint): number {
  let total = 0n;
  for (const [size, count] of sizes) total += size * count;
  return Number(ceilDiv(total, capacity));
}

/** Thresholds worth trying: 0 and every size up to half a node (between two sizes nothing changes). */
function thresholds(sizes: Sizes, capacity: bigint): bigint[] {
  return [0n, ...[...sizes.keys()].filter((s) => 2n * s <= capacity)];
}

export function martelloTothL2(sizes: Sizes, capacity: bigint): number {
  let best = 0n;
  for (const e of thresholds(sizes, capacity)) {
    let big = 0n; // J1 ∪ J2: above C/2, a node each
    let roomInJ2 = 0n; // what the (C/2, C − e] replicas leave free on their nodes
    let small = 0n; // volume of J3 = [e, C/2]
    for (const [size, count] of sizes) {
      if (2n * size > capacity) {
        big += count;
        if (size <= capacity - e) roomInJ2 += (capacity - size) * count;
      } else if (size >= e) {
        small += size * count;
      }
    }
    const extra = small > roomInJ2 ? ceilDiv(small - roomInJ2, capacity) : 0n;
    if (big + extra > best) best = big + extra;
  }
  return Number(best);
}

export function dualFeasibleBound(sizes: Sizes, capacity: bigint): number {
  let best = 0n;
  for (const e of thresholds(sizes, capacity)) {
    for (let k = 1n; k <= BigInt(MAX_K); k++) {
      // Σ u_k(U_e(size / C)) = whole / C + parts / k, kept as two exact numerators.
      let whole = 0n;
      let parts = 0n;
      for (const [size, count] of sizes) {
        const t = size > capacity - e ? capacity : size >= e ? size : 0n;
        if (((k + 1n) * t) % capacity === 0n) whole += t * count;
        else parts += ((k + 1n) * t / capacity) * count;
      }
      const bound = ceilDiv(whole * k + parts * capacity, capacity * k);
      if (bound > best) best = bound;
    }
  }
  return Number(best);
}
