import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { scheduleBatch, summarize } from './engine';
import { bestFitScore, spreadScore } from './plugins/scores';
import { NodeInfo, PendingReplica } from './types';

const GiB = 2 ** 30;

function node(name: string, cpu: number, memory: number, extra: Partial<NodeInfo> = {}): NodeInfo {
  return { name, labels: {}, allocatable: { cpu, memory }, requested: { cpu: 0, memory: 0 }, ready: true, cordoned: false, ...extra };
}

function replica(name: string, cpu: number, memory: number, extra: Partial<PendingReplica> = {}): PendingReplica {
  return { namespace: 'default', name, service: 'web', cpu, memory, ...extra };
}

describe('bestFitScore', () => {
  const table: [string, { cpu: number; memory: number }, { cpu: number; memory: number }, number][] = [
    // u_cpu = 3000/4000 = 0.75, u_mem = 3/4 = 0.75 → 100*0.75 − 50*0 = 75
    ['balanced and three quarters full', { cpu: 4000, memory: 4 * GiB }, { cpu: 3000, memory: 3 * GiB }, 75],
    // u_cpu = 1, u_mem = 0.5 → 100*0.75 − 50*0.5 = 50
    ['full on cpu, half on memory', { cpu: 4000, memory: 4 * GiB }, { cpu: 4000, memory: 2 * GiB }, 50],
    // u_cpu = 0.25, u_mem = 0.25 → 25
    ['a quarter full', { cpu: 4000, memory: 4 * GiB }, { cpu: 1000, memory: GiB }, 25],
  ];
  for (const [title, allocatable, after, expected] of table) {
    it(title, () => assert.equal(bestFitScore(allocatable, after), expected));
  }
  it('spreads: 100 / (1 + replicas already there)', () => {
    assert.equal(spreadScore(0), 100);
    assert.equal(spreadScore(3), 25); // 100 / 4
  });
});

describe('scheduleBatch', () => {
  it('packs onto the fullest node that fits', () => {
    const nodes = [node('empty', 4000, 4 * GiB), node('half', 4000, 4 * GiB, { requested: { cpu: 2000, memory: 2 * GiB } })];
    const result = scheduleBatch(nodes, [replica('r1', 1000, GiB)]);
    assert.deepEqual(result.bindings.map((b) => b.node), ['half']);
  });

  it('never oversubscribes within a batch', () => {
    const result = scheduleBatch([node('n1', 2000, 2 * GiB)], [1, 2, 3].map((i) => replica(`r${i}`, 1000, GiB)));
    assert.equal(result.bindings.length, 2);
    assert.equal(result.unschedulable.length, 1);
    assert.equal(result.unschedulable[0].summary, '0/1 nodes available: 1 insufficient cpu');
  });

  it('explains per node why a replica fits nowhere', () => {
    const nodes = [
      node('small', 4000, GiB),
      node('down', 8000, 8 * GiB, { ready: false }),
      node('drained', 8000, 8 * GiB, { cordoned: true }),
      node('gpu', 8000, 8 * GiB, { labels: { disk: 'hdd' } }),
    ];
    const result = scheduleBatch(nodes, [replica('big', 1000, 2 * GiB, { nodeSelector: { disk: 'ssd' } })]);
    assert.equal(result.bindings.length, 0);
    assert.deepEqual(result.unschedulable[0].reasons, {
      small: 'node selector mismatch',
      down: 'not ready',
      drained: 'cordoned',
      gpu: 'node selector mismatch',
    });
    assert.equal(result.unschedulable[0].summary, '0/4 nodes available: 2 node selector mismatch, 1 not ready, 1 cordoned');
  });

  it('places larger requests first so they are not stranded', () => {
    // Two 2-core nodes; a 2-core replica arriving last would not fit if 1-core ones were spread first.
    const nodes = [node('a', 2000, 8 * GiB), node('b', 2000, 8 * GiB)];
    const result = scheduleBatch(nodes, [replica('s1', 1000, GiB), replica('s2', 1000, GiB), replica('big', 2000, GiB)]);
    assert.equal(result.unschedulable.length, 0);
  });

  it('summarizes reasons by count', () => {
    assert.equal(summarize(5, { a: 'insufficient memory', b: 'insufficient memory', c: 'cordoned' }),
      '0/5 nodes available: 2 insufficient memory, 1 cordoned');
  });
});

/** Mulberry32: a small seeded generator so that a failing case can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('scheduleBatch properties', () => {
  it('never exceeds allocatable and always explains, over 300 random clusters', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = seeded(seed);
      const nodes = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) =>
        node(`n${i}`, 1000 + Math.floor(random() * 8000), GiB + Math.floor(random() * 16 * GiB), {
          ready: random() > 0.1, cordoned: random() < 0.1,
          requested: { cpu: Math.floor(random() * 500), memory: Math.floor(random() * GiB / 2) },
        }));
      const pending = Array.from({ length: Math.floor(random() * 40) }, (_, i) =>
        replica(`r${i}`, 10 + Math.floor(random() * 3000), 1 + Math.floor(random() * 4 * GiB)));
      const result = scheduleBatch(nodes, pending);
      assert.equal(result.bindings.length + result.unschedulable.length, pending.length, `seed ${seed}: every replica decided`);
      for (const n of nodes) {
        const bound = result.bindings.filter((b) => b.node === n.name).map((b) => b.replica);
        const cpu = n.requested.cpu + bound.reduce((sum, r) => sum + r.cpu, 0);
        const memory = n.requested.memory + bound.reduce((sum, r) => sum + r.memory, 0);
        if (bound.length > 0) {
          assert.ok(cpu <= n.allocatable.cpu && memory <= n.allocatable.memory, `seed ${seed}: ${n.name} oversubscribed`);
          assert.ok(n.ready && !n.cordoned, `seed ${seed}: bound to an unusable node`);
        }
      }
      for (const u of result.unschedulable) {
        assert.deepEqual(Object.keys(u.reasons).sort(), nodes.map((n) => n.name).sort(), `seed ${seed}: a reason per node`);
      }
    }
  });
});
