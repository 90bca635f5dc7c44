/**
 * The indexed placer's filing of nodes (indexed.placer.ts says why it is exact): classes of nodes
 * that answer every 'class' plugin alike, each with its pool of pristine members and its cells of
 * members bucketed by free CPU and free memory.
 */
import { NodeInfo } from './types';

/** Free space is bucketed down to 2^-10 of allocatable, four buckets per octave (19% apart). */
const OCTAVES = 10;
const PER_OCTAVE = 4;
export const BUCKETS = OCTAVES * PER_OCTAVE + 2;

export interface NodeClass {
  /** Any member: its class fields are the class's. */
  representative: NodeInfo;
  size: number;
  cpuEdges: Float64Array;
  memoryEdges: Float64Array;
  /** Pristine members in index order; members before `head` have been bound since. */
  pristine: number[];
  head: number;
  cells: Map<number, Cell>;
  cellList: Cell[];
  /** The made-up, fullest-possible member a cell's bound is scored on. */
  scratch: NodeInfo;
}

export interface Cell {
  nodeClass: NodeClass;
  id: number;
  lowCpu: number;
  lowMemory: number;
  highCpu: number;
  highMemory: number;
  members: number[];
  listPosition: number;
}

/** edges[b] is the least free space of bucket b; bucket 0 also holds an oversubscribed node. */
function bucketEdges(allocatable: number): Float64Array {
  const edges = new Float64Array(BUCKETS + 1);
  edges[0] = -Infinity;
  for (let b = 1; b < BUCKETS; b++) edges[b] = Math.floor(allocatable * 2 ** ((b - 1) / PER_OCTAVE - OCTAVES));
  edges[BUCKETS] = Infinity;
  return edges;
}

/** The last bucket whose least free space is at most `free`. */
export function bucketOf(edges: Float64Array, free: number): number {
  let low = 0;
  let high = BUCKETS - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (edges[mid] <= free) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Nodes with equal keys are one class: same allocatable, ready, cordoned, disk pressure, labels and images. */
export function classKey(node: NodeInfo): string {
  const labels = Object.keys(node.labels).sort().map((k) => `${k}=${node.labels[k]}`).join(',');
  const images = node.images ? [...node.images].sort().join(',') : '';
  return `${node.allocatable.cpu}|${node.allocatable.memory}|${node.ready ? 1 : 0}${node.cordoned ? 1 : 0}${node.diskPressure ? 1 : 0}|${labels}|${images}`;
}

export function newClass(node: NodeInfo): NodeClass {
  return {
    representative: node,
    size: 0,
    cpuEdges: bucketEdges(node.allocatable.cpu),
    memoryEdges: bucketEdges(node.allocatable.memory),
    pristine: [],
    head: 0,
    cells: new Map(),
    cellList: [],
    scratch: { ...node, requested: { cpu: 0, memory: 0 } },
  };
}
