/**
 * Workloads for the scheduler benchmark: a synthetic cluster and a skewed web/cache/worker mix, or a
 * recorded trace of requests (CSV `cpu_millicores,memory_bytes`, one replica a row, in arrival order).
 */
import * as fs from 'node:fs';
import type { NodeInfo, PendingReplica } from '@tide/scheduler';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

export interface Shape {
  cpu: number;
  memory: number;
}

/** Heterogeneous cluster: general purpose, large, compute- and memory-optimised machines. */
const NODE_SHAPES: { shape: Shape; weight: number; label: string }[] = [
  { shape: { cpu: 16_000, memory: 64 * GiB }, weight: 40, label: 'general' },
  { shape: { cpu: 32_000, memory: 128 * GiB }, weight: 30, label: 'large' },
  { shape: { cpu: 32_000, memory: 64 * GiB }, weight: 15, label: 'compute' },
  { shape: { cpu: 16_000, memory: 128 * GiB }, weight: 15, label: 'memory' },
];

/** The homogeneous variant, on which a valid lower bound can be computed (scheduler.bound.ts). */
export const HOMOGENEOUS_SHAPE: Shape = { cpu: 32_000, memory: 128 * GiB };

/**
 * Tiers of a shop's web stack. Each service picks one size of its tier; a size's weight says how
 * often services use it, so small replicas dominate the count and large ones the volume.
 */
const TIERS: { weight: number; sizes: [cpu: number, memory: number, weight: number][] }[] = [
  // web: CPU-heavy, about 1 core : 1 GiB
  { weight: 60, sizes: [[250, 256 * MiB, 40], [500, 512 * MiB, 30], [1000, 1 * GiB, 20], [2000, 2 * GiB, 10]] },
  // cache: memory-heavy
  { weight: 25, sizes: [[100, 2 * GiB, 30], [250, 4 * GiB, 35], [500, 8 * GiB, 25], [1000, 16 * GiB, 10]] },
  // workers and the odd big job
  { weight: 15, sizes: [[1000, 2 * GiB, 50], [2000, 4 * GiB, 35], [4000, 8 * GiB, 15]] },
];

function pick<T>(random: () => number, items: T[], weight: (item: T) => number): T {
  const total = items.reduce((sum, item) => sum + weight(item), 0);
  let r = random() * total;
  for (const item of items) {
    r -= weight(item);
    if (r < 0) return item;
  }
  return items[items.length - 1];
}

export function syntheticNodes(count: number, random: () => number, homogeneous: boolean): NodeInfo[] {
  return Array.from({ length: count }, (_, i) => {
    const { shape, label } = homogeneous ? { shape: HOMOGENEOUS_SHAPE, label: 'large' } : pick(random, NODE_SHAPES, (s) => s.weight);
    return node(`node-${i}`, shape, { shape: label });
  });
}

export function node(name: string, shape: Shape, labels: Record<string, string> = {}): NodeInfo {
  return { name, labels, allocatable: { ...shape }, requested: { cpu: 0, memory: 0 }, ready: true, cordoned: false, replicasOfService: {} };
}

/**
 * `count` replicas of count/200 services whose sizes follow Zipf's law (service k has a share
 * proportional to 1/k: a few big web tiers, a long tail of small services), shuffled into a random
 * arrival order.
 */
export function syntheticReplicas(count: number, random: () => number): PendingReplica[] {
  const services = Math.max(1, Math.round(count / 200));
  const sizes = Array.from({ length: services }, () => {
    const tier = pick(random, TIERS, (t) => t.weight);
    const [cpu, memory] = pick(random, tier.sizes, (s) => s[2]);
    return { cpu, memory };
  });
  const cumulative: number[] = [];
  for (let k = 0; k < services; k++) cumulative.push((cumulative[k - 1] ?? 0) + 1 / (k + 1));
  const replicas: PendingReplica[] = [];
  for (let i = 0; i < count; i++) {
    const k = firstAbove(cumulative, random() * cumulative[services - 1]);
    replicas.push({ namespace: 'default', name: `svc-${k}-${i}`, service: `svc-${k}`, ...sizes[k] });
  }
  return shuffle(replicas, random);
}

/** The first index whose cumulative weight exceeds r (binary search). */
function firstAbove(cumulative: number[], r: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (cumulative[mid] > r) high = mid;
    else low = mid + 1;
  }
  return low;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** A trace carries no services: each row is a service of its own, so spreading never binds. */
export function traceReplicas(file: string, limit: number | undefined): PendingReplica[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const header = lines.shift();
  if (header !== 'cpu_millicores,memory_bytes') {
    throw new Error(`${file}: expected the header "cpu_millicores,memory_bytes", got "${header}"`);
  }
  return lines.slice(0, limit).map((line, i) => {
    const [cpu, memory] = line.split(',').map(Number);
    if (!Number.isFinite(cpu) || !Number.isFinite(memory)) throw new Error(`${file}: line ${i + 2}: not two numbers: "${line}"`);
    return { namespace: 'trace', name: `pod-${i}`, service: `pod-${i}`, cpu, memory };
  });
}
