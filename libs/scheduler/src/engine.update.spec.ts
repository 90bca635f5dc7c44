/**
 * A long-lived Scheduler that takes in node changes between batches (what the control plane's
 * scheduler keeps between cycles) must place exactly as a fresh reference scan over the same current
 * nodes would: seeded random clusters, batches, and holdings replaced in between (nodes emptied,
 * filled by someone else, back to pristine), a failure names its seed.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Scheduler, scheduleBatch } from './engine';
import { GiB, node, replica, seeded } from './testing';
import { NodeInfo, PendingReplica } from './types';

function randomNodes(random: () => number): NodeInfo[] {
  const shapes = [[4000, 8 * GiB], [8000, 16 * GiB]];
  return Array.from({ length: 2 + Math.floor(random() * 20) }, (_, i) => {
    const [cpu, memory] = shapes[Math.floor(random() * shapes.length)];
    return node(`n${i}`, cpu, memory, { labels: random() < 0.3 ? { disk: 'ssd' } : {} });
  });
}

function randomBatch(random: () => number, round: number): PendingReplica[] {
  return Array.from({ length: Math.floor(random() * 30) }, (_, i) =>
    replica(`r${round}-${i}`, random() < 0.5 ? 1000 : 10 + Math.floor(random() * 2000), random() < 0.5 ? 2 * GiB : 1 + Math.floor(random() * 3 * GiB), {
      service: `s${Math.floor(random() * 3)}`,
      ...(random() < 0.2 ? { nodeSelector: { disk: 'ssd' } } : {}),
      ...(random() < 0.1 ? { hostPorts: [8080] } : {}),
    }));
}

/** What someone else did to a node meanwhile: emptied it, or filled part of it. */
function randomHolding(random: () => number, current: NodeInfo): NodeInfo {
  if (random() < 0.4) return { ...current, requested: { cpu: 0, memory: 0 }, replicasOfService: {}, hostPorts: new Set() };
  const share = Math.floor(random() * 4) / 4;
  return {
    ...current,
    requested: { cpu: share * current.allocatable.cpu, memory: share * current.allocatable.memory },
    replicasOfService: share > 0 ? { 'default/s0': 1 + Math.floor(random() * 2) } : {},
    hostPorts: share > 0 && random() < 0.3 ? new Set([8080]) : new Set(),
  };
}

describe('Scheduler.update', () => {
  it('keeps the indexed view equal to a fresh scan after node changes, over 200 random runs', () => {
    let placed = 0;
    let updates = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = seeded(seed);
      let current = randomNodes(random);
      const kept = new Scheduler(current, { placer: 'indexed' });
      for (let round = 0; round < 4; round++) {
        const batch = randomBatch(random, round);
        const fresh = scheduleBatch(current, batch, { placer: 'scan' });
        const result = kept.schedule(batch);
        const placements = (r: typeof result) => r.bindings.map((b) => `${b.replica.name}@${b.node}`);
        assert.deepEqual(placements(result), placements(fresh), `seed ${seed} round ${round}: the kept scheduler differs from a fresh scan`);
        placed += result.bindings.length;
        current = current.map((n) => ({ ...kept.node(n.name)!, requested: { ...kept.node(n.name)!.requested } }));
        current = current.map((n) => (random() < 0.3 ? randomHolding(random, n) : n));
        for (const n of current) assert.equal(kept.update(n), true, `seed ${seed}: ${n.name} is the same class`);
        updates++;
      }
    }
    assert.ok(placed > 1000 && updates > 500, `the runs place replicas (${placed}) and change nodes`);
  });

  it('refuses a change of class fields or an unknown node, and changes nothing then', () => {
    const scheduler = new Scheduler([node('a', 4000, 4 * GiB)]);
    assert.equal(scheduler.update(node('a', 4000, 4 * GiB, { cordoned: true })), false);
    assert.equal(scheduler.update(node('b', 4000, 4 * GiB)), false);
    assert.deepEqual(scheduler.schedule([replica('r', 1000, GiB)]).bindings.map((b) => b.node), ['a']);
  });

  it('counts a node freed by someone else as room again', () => {
    const full = node('a', 2000, 2 * GiB, { requested: { cpu: 2000, memory: 2 * GiB }, replicasOfService: { 'default/old': 2 } });
    const scheduler = new Scheduler([full]);
    assert.equal(scheduler.schedule([replica('r1', 1000, GiB)]).bindings.length, 0);
    scheduler.update(node('a', 2000, 2 * GiB));
    // Freed: 1000m and 1 GiB fit, twice over.
    assert.deepEqual(scheduler.schedule([replica('r2', 1000, GiB, { service: 'x' }), replica('r3', 1000, GiB, { service: 'y' })]).bindings.map((b) => b.node), ['a', 'a']);
  });
});
