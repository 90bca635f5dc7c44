/** Test-only entry: small builders for the scheduler's specs and its benchmark. */
import { NodeInfo, PendingReplica } from './types';

export const GiB = 2 ** 30;

export function node(name: string, cpu: number, memory: number, extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name, labels: {}, allocatable: { cpu, memory }, requested: { cpu: 0, memory: 0 }, ready: true, cordoned: false, ...extra };
}

export function replica(name: string, cpu: number, memory: number, extra: Partial<PendingReplica> = {}): PendingReplica {
  return { namespace: 'default', name, service: 'web', cpu, memory, ...extra };
}

/** Mulberry32: a small seeded generator so that a failing case can be replayed from its seed. */
export function seeded(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
