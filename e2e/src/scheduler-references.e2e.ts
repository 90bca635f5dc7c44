/**
 * The scheduler benchmark's yardsticks, checked on their own (no process, no cluster): the
 * kube-scheduler model's formulas against Kubernetes' arithmetic, its packing on a cluster whose
 * answer is known, the lower bound against the true optimum of small cases found by exhaustive search,
 * and the capacity check that fails a run.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { node, replica, seeded } from '@tide/scheduler/testing';
import type { PendingReplica } from '@tide/scheduler';
import { lowerBound } from './bench/scheduler.bound';
import { PlacementError, checkPlacement } from './bench/scheduler.check';
import {
  balancedAllocationScore, kubePlacement, leastRequestedScore, mostRequestedScore, nodesToFind, resourceFitScore, topologySpreadScores,
} from './bench/scheduler.kube';

describe('kube-scheduler model', () => {
  it('scores as NodeResourcesFit and BalancedAllocation do, in integers', () => {
    // Node 4000m / 10000 bytes; requested after placing the pod (the pod included): 3000m, 5000.
    assert.equal(mostRequestedScore(3000, 4000), 75); // 3000 × 100 / 4000
    assert.equal(leastRequestedScore(3000, 4000), 25); // (4000 − 3000) × 100 / 4000
    assert.equal(resourceFitScore('MostAllocated', 3000, 4000, 5000, 10000), 62); // (75 + 50) / 2 = 62.5 → 62
    assert.equal(resourceFitScore('LeastAllocated', 3000, 4000, 5000, 10000), 37); // (25 + 50) / 2 = 37.5 → 37
    assert.equal(balancedAllocationScore(3000, 4000, 5000, 10000), 87); // (1 − |0.75 − 0.5| / 2) × 100 = 87.5 → 87
    assert.equal(mostRequestedScore(5000, 4000), 100); // requested above capacity counts as full
    assert.equal(leastRequestedScore(5000, 4000), 0);
  });

  it('normalizes the hostname spread score over the scored nodes', () => {
    // ln(3 + 2) = 1.609: raw round(0 + 2) = 2, round(1.609 + 2) = 4, round(3.219 + 2) = 5;
    // normalized 100 × (5 + 2 − raw) / 5 = 100, 60, 40.
    const out = new Int32Array(3);
    topologySpreadScores([0, 1, 2], 3, out);
    assert.deepEqual([...out], [100, 60, 40]);
  });

  it('samples as percentageOfNodesToScore does', () => {
    assert.equal(nodesToFind(99), 99); // fewer than 100 nodes: all
    assert.equal(nodesToFind(1000), 420); // 50 − 1000/125 = 42%
    assert.equal(nodesToFind(5000), 500); // 50 − 40 = 10%
    assert.equal(nodesToFind(6000), 300); // 50 − 48 = 2% → at least 5%
    assert.equal(nodesToFind(1000, 100), 1000);
  });

  it('packs with MostAllocated and spreads with LeastAllocated', () => {
    // 20 pods of 1 core, each of its own service (no spreading), on 10 nodes of 4 cores: 5 nodes full.
    const nodes = Array.from({ length: 10 }, (_, i) => node(`n${i}`, 4000, 16 * 2 ** 30));
    const pods = Array.from({ length: 20 }, (_, i) => replica(`p${i}`, 1000, 2 ** 30, { service: `s${i}` }));
    const used = (strategy: 'MostAllocated' | 'LeastAllocated', defaultSpread = true, list: PendingReplica[] = pods) =>
      new Set(kubePlacement(nodes, list, { strategy, percentageOfNodesToScore: 0, defaultSpread }, seeded(1)).nodeOf).size;
    assert.equal(used('MostAllocated'), 5);
    assert.equal(used('LeastAllocated'), 10);
    // One service of 20 replicas: the default spreading (weight 2) outweighs MostAllocated (weight 1).
    const oneService = pods.map((p) => ({ ...p, service: 'web' }));
    assert.equal(used('MostAllocated', true, oneService), 10);
    assert.equal(used('MostAllocated', false, oneService), 5);
  });
});

/** The fewest nodes of one shape that hold every item, by trying every partition (small cases only). */
function optimum(items: readonly PendingReplica[], cpu: number, memory: number): number {
  const bins: { cpu: number; memory: number }[] = [];
  let best = items.length;
  const place = (i: number): void => {
    if (bins.length >= best) return;
    if (i === items.length) return void (best = bins.length);
    for (const bin of bins) {
      if (bin.cpu + items[i].cpu > cpu || bin.memory + items[i].memory > memory) continue;
      bin.cpu += items[i].cpu;
      bin.memory += items[i].memory;
      place(i + 1);
      bin.cpu -= items[i].cpu;
      bin.memory -= items[i].memory;
    }
    bins.push({ cpu: items[i].cpu, memory: items[i].memory });
    place(i + 1);
    bins.pop();
  };
  place(0);
  return best;
}

describe('lower bound', () => {
  it('never exceeds the optimum (300 random small cases, checked by exhaustive search)', () => {
    const random = seeded(7);
    let tighterThanVolume = 0;
    for (let c = 0; c < 300; c++) {
      const items = Array.from({ length: 2 + Math.floor(random() * 8) }, (_, i) =>
        replica(`r${i}`, 1 + Math.floor(random() * 100), 1 + Math.floor(random() * 100)));
      const bound = lowerBound(items, { cpu: 100, memory: 100 });
      const best = optimum(items, 100, 100);
      assert.ok(bound.nodes <= best, `case ${c}: bound ${bound.nodes} above the optimum ${best} for ${JSON.stringify(items.map((r) => [r.cpu, r.memory]))}`);
      if (bound.nodes > Math.max(bound.by.cpu_volume, bound.by.memory_volume)) tighterThanVolume++;
    }
    assert.ok(tighterThanVolume > 0, 'the other arguments add something over the volume bound');
  });

  it('sees that three 3/8 requests do not share a node', () => {
    // Volume: ⌈30 × 3 / 8⌉ = 12; u_2 maps 3/8 to ⌊3 × 3/8⌋ / 2 = 1/2 each: ⌈30 / 2⌉ = 15, the optimum.
    const items = Array.from({ length: 30 }, (_, i) => replica(`r${i}`, 3000, 2 ** 30));
    const bound = lowerBound(items, { cpu: 8000, memory: 64 * 2 ** 30 });
    assert.equal(bound.by.cpu_volume, 12);
    assert.equal(bound.nodes, 15);
  });

  it('leaves out what fits no node', () => {
    const bound = lowerBound([replica('big', 9000, 1), replica('small', 1000, 1)], { cpu: 8000, memory: 8000 });
    assert.equal(bound.nodes, 1);
  });
});

describe('capacity check', () => {
  const nodes = [node('a', 4000, 4000), node('b', 4000, 4000)];
  const pods = [replica('p0', 3000, 1000), replica('p1', 3000, 1000)];

  it('passes a placement within allocatable, unplaced replicas counted', () => {
    checkPlacement('test', nodes, pods, { nodeOf: Int32Array.from([0, -1]), cycleMs: [] });
  });

  it('fails a node over its CPU or memory allocatable, naming the strategy and the node', () => {
    assert.throws(() => checkPlacement('greedy', nodes, pods, { nodeOf: Int32Array.from([1, 1]), cycleMs: [] }),
      (e: unknown) => e instanceof PlacementError && /greedy: node b over its CPU allocatable: 6000m requested of 4000m/.test(e.message));
    const heavy = [replica('m0', 1, 3000), replica('m1', 1, 3000)];
    assert.throws(() => checkPlacement('greedy', nodes, heavy, { nodeOf: Int32Array.from([0, 0]), cycleMs: [] }), /node a over its memory allocatable/);
  });

  it('fails a placement that lost a replica', () => {
    assert.throws(() => checkPlacement('lossy', nodes, pods, { nodeOf: Int32Array.from([0]), cycleMs: [] }), /lossy: placed 1 replicas of 2/);
  });
});
