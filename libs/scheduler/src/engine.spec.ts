import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Scheduler, scheduleBatch, summarize } from './engine';
import { GiB, node, replica } from './testing';

describe('scheduleBatch', () => {
  for (const placer of ['indexed', 'scan'] as const) {
    it(`${placer}: packs onto the fullest node that fits`, () => {
      const nodes = [node('empty', 4000, 4 * GiB), node('half', 4000, 4 * GiB, { requested: { cpu: 2000, memory: 2 * GiB } })];
      const result = scheduleBatch(nodes, [replica('r1', 1000, GiB)], { placer });
      assert.deepEqual(result.bindings.map((b) => b.node), ['half']);
    });
  }

  it('prefers the node the replica balances', () => {
    // cpu-heavy: (3000+1000)/4000 = 1, (1+0.25)/4 → 75×0.3125 + 25×1 = 48.4
    // mem-heavy: (1000+1000)/4000 = 0.5, (3+0.25)/4 → 75×0.5 + 25×0.8125 = 57.8, although both are as full
    const nodes = [
      node('cpu-heavy', 4000, 4 * GiB, { requested: { cpu: 3000, memory: GiB } }),
      node('mem-heavy', 4000, 4 * GiB, { requested: { cpu: 1000, memory: 3 * GiB } }),
    ];
    const result = scheduleBatch(nodes, [replica('r', 1000, GiB / 4)]);
    assert.deepEqual(result.bindings.map((b) => b.node), ['mem-heavy']);
  });

  it('never oversubscribes within a batch', () => {
    const result = scheduleBatch([node('n1', 2000, 2 * GiB)], [1, 2, 3].map((i) => replica(`r${i}`, 1000, GiB, { service: `s${i}` })));
    assert.equal(result.bindings.length, 2);
    assert.equal(result.unschedulable.length, 1);
    assert.equal(result.unschedulable[0].summary, '0/1 nodes available: 1 insufficient cpu');
  });

  it('explains per node why a replica fits nowhere', () => {
    const nodes = [
      node('small', 4000, GiB, { labels: { disk: 'ssd' } }),
      node('down', 8000, 8 * GiB, { ready: false }),
      node('drained', 8000, 8 * GiB, { cordoned: true }),
      node('full', 8000, 8 * GiB, { labels: { disk: 'ssd' }, diskPressure: true }),
      node('hdd', 8000, 8 * GiB, { labels: { disk: 'hdd' } }),
      node('taken', 8000, 8 * GiB, { labels: { disk: 'ssd' }, hostPorts: new Set([80]) }),
    ];
    const result = scheduleBatch(nodes, [replica('big', 1000, 2 * GiB, { nodeSelector: { disk: 'ssd' }, hostPorts: [80] })]);
    assert.equal(result.bindings.length, 0);
    assert.deepEqual(result.unschedulable[0].reasons, {
      small: 'insufficient memory',
      down: 'not ready',
      drained: 'cordoned',
      full: 'disk pressure',
      hdd: 'node selector mismatch',
      taken: 'host port 80 in use',
    });
    assert.equal(result.unschedulable[0].summary,
      '0/6 nodes available: 1 insufficient memory, 1 not ready, 1 cordoned, 1 disk pressure, 1 node selector mismatch, 1 host port 80 in use');
  });

  it('keeps two host-network replicas with the same port apart', () => {
    const nodes = [node('a', 8000, 8 * GiB), node('b', 8000, 8 * GiB)];
    const result = scheduleBatch(nodes, ['r1', 'r2', 'r3'].map((n, i) => replica(n, 100, GiB / 8, { service: `s${i}`, hostPorts: [8080] })));
    assert.deepEqual(result.bindings.map((b) => b.node).sort(), ['a', 'b']);
    assert.equal(result.unschedulable[0].summary, '0/2 nodes available: 2 host port 8080 in use');
  });

  it('spreads a service beyond what packing alone would do', () => {
    // Packing alone puts all three on one node; a max skew of 1 over 3 nodes puts one on each.
    const nodes = ['a', 'b', 'c'].map((n) => node(n, 8000, 8 * GiB));
    const result = scheduleBatch(nodes, ['r1', 'r2', 'r3'].map((n) => replica(n, 100, GiB / 8)));
    assert.deepEqual(result.bindings.map((b) => b.node).sort(), ['a', 'b', 'c']);
    const unspread = scheduleBatch(nodes, ['r1', 'r2', 'r3'].map((n) => replica(n, 100, GiB / 8, { maxSkew: 3 })));
    assert.deepEqual(unspread.bindings.map((b) => b.node), ['a', 'a', 'a']);
  });

  it('places larger requests first so they are not stranded', () => {
    // Two 2-core nodes; a 2-core replica arriving last would not fit if 1-core ones were spread first.
    const nodes = [node('a', 2000, 8 * GiB), node('b', 2000, 8 * GiB)];
    const pending = [replica('s1', 1000, GiB, { maxSkew: 2 }), replica('s2', 1000, GiB, { maxSkew: 2 }), replica('big', 2000, GiB, { service: 'big' })];
    const result = scheduleBatch(nodes, pending);
    assert.equal(result.unschedulable.length, 0);
  });

  it('prefers a node with the image among equally full ones', () => {
    const nodes = [node('a', 4000, 4 * GiB), node('b', 4000, 4 * GiB, { images: new Set(['web:2']) })];
    const result = scheduleBatch(nodes, [replica('r', 1000, GiB, { image: 'web:2' })]);
    assert.deepEqual(result.bindings.map((b) => b.node), ['b']);
  });

  it('keeps its bindings between batches and leaves the snapshot untouched', () => {
    const nodes = [node('n', 2000, 2 * GiB)];
    const scheduler = new Scheduler(nodes);
    assert.equal(scheduler.schedule([replica('r1', 1500, GiB, { service: 'a' })]).bindings.length, 1);
    assert.equal(scheduler.schedule([replica('r2', 1000, GiB, { service: 'b' })]).unschedulable[0].summary,
      '0/1 nodes available: 1 insufficient cpu');
    assert.deepEqual(nodes[0].requested, { cpu: 0, memory: 0 });
  });

  it('refuses a profile naming an unknown plugin', () => {
    assert.throws(() => scheduleBatch([], [], { profile: { filters: ['NodeReady', 'Nope'], scores: {} } }), /unknown scheduler plugin\(s\): Nope/);
  });
});

describe('summarize', () => {
  const table: [string, number, Record<string, string>, string][] = [
    ['counts each reason, most frequent first', 5,
      { a: 'insufficient memory', b: 'cordoned', c: 'insufficient memory', d: 'insufficient memory', e: 'cordoned' },
      '0/5 nodes available: 3 insufficient memory, 2 cordoned'],
    ['ties keep the order the nodes came in', 2, { a: 'not ready', b: 'cordoned' }, '0/2 nodes available: 1 not ready, 1 cordoned'],
    ['an empty cluster', 0, {}, '0/0 nodes available'],
  ];
  for (const [title, count, reasons, expected] of table) it(title, () => assert.equal(summarize(count, reasons), expected));
});
