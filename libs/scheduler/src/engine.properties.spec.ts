/**
 * Properties over seeded random clusters and workloads (a failure names its seed): no binding ever
 * exceeds a node's allocatable or lands on an unusable node, every unplaced replica has a reason per
 * node, and the indexed placer chooses exactly what the reference scan chooses.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { scheduleBatch } from './engine';
import { GiB, node, replica, seeded } from './testing';
import { NodeInfo, PendingReplica, ScheduleResult } from './types';

function randomCluster(random: () => number): { nodes: NodeInfo[]; pending: PendingReplica[] } {
  // Few shapes and labels, as in real clusters, so classes and pristine pools are exercised.
  const shapes = [[4000, 8 * GiB], [8000, 16 * GiB], [2000, 16 * GiB]];
  const nodes = Array.from({ length: 1 + Math.floor(random() * 30) }, (_, i) => {
    const [cpu, memory] = shapes[Math.floor(random() * shapes.length)];
    const used = random() < 0.5;
    return node(`n${i}`, cpu, memory, {
      ready: random() > 0.1, cordoned: random() < 0.1,
      labels: random() < 0.3 ? { disk: 'ssd' } : {},
      images: random() < 0.2 ? new Set(['img1']) : undefined,
      // Quarters, so that used nodes often tie exactly and the tie rule (earlier node) is exercised.
      requested: used ? { cpu: Math.floor(random() * 4) * cpu / 4, memory: Math.floor(random() * 4) * memory / 4 } : { cpu: 0, memory: 0 },
      replicasOfService: used ? { 'default/s0': Math.floor(random() * 3) } : {},
      hostPorts: used && random() < 0.3 ? new Set([8080]) : undefined,
    });
  });
  const pending = Array.from({ length: Math.floor(random() * 80) }, (_, i) =>
    replica(`r${i}`, random() < 0.5 ? 500 : 10 + Math.floor(random() * 3000), random() < 0.5 ? GiB : 1 + Math.floor(random() * 4 * GiB), {
      service: `s${Math.floor(random() * 4)}`,
      ...(random() < 0.2 ? { nodeSelector: { disk: 'ssd' } } : {}),
      ...(random() < 0.1 ? { hostPorts: [8080] } : {}),
      ...(random() < 0.3 ? { image: 'img1' } : {}),
      ...(random() < 0.3 ? { maxSkew: 1 + Math.floor(random() * 3) } : {}),
    }));
  return { nodes, pending };
}

function assertWithinAllocatable(seed: number, nodes: NodeInfo[], result: ScheduleResult): void {
  for (const n of nodes) {
    const bound = result.bindings.filter((b) => b.node === n.name).map((b) => b.replica);
    if (bound.length === 0) continue;
    const cpu = n.requested.cpu + bound.reduce((sum, r) => sum + r.cpu, 0);
    const memory = n.requested.memory + bound.reduce((sum, r) => sum + r.memory, 0);
    assert.ok(cpu <= n.allocatable.cpu && memory <= n.allocatable.memory, `seed ${seed}: ${n.name} oversubscribed`);
    assert.ok(n.ready && !n.cordoned, `seed ${seed}: bound to an unusable node`);
  }
}

describe('scheduleBatch properties', () => {
  it('never exceeds allocatable, always explains, and the indexed placer equals the scan, over 400 random clusters', () => {
    let bound = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { nodes, pending } = randomCluster(seeded(seed));
      const indexed = scheduleBatch(nodes, pending, { placer: 'indexed' });
      const scan = scheduleBatch(nodes, pending, { placer: 'scan' });
      const placements = (r: ScheduleResult) => r.bindings.map((b) => `${b.replica.name}@${b.node}`);
      assert.deepEqual(placements(indexed), placements(scan), `seed ${seed}: indexed and scan placers differ`);
      assert.equal(indexed.bindings.length + indexed.unschedulable.length, pending.length, `seed ${seed}: every replica decided`);
      assertWithinAllocatable(seed, nodes, indexed);
      for (const u of indexed.unschedulable) {
        assert.deepEqual(Object.keys(u.reasons).sort(), nodes.map((n) => n.name).sort(), `seed ${seed}: a reason per node`);
        assert.ok(!Object.values(u.reasons).some((r) => r.startsWith('no reason')), `seed ${seed}: a feasible node was missed`);
      }
      bound += indexed.bindings.length;
    }
    assert.ok(bound > 1000, `the random workloads place replicas at all (${bound})`);
  });
});
