import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { PodCidrClaims } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/testing';
import { PodCidrAllocator, parseClusterCidr, podCidrCandidates } from './pod-cidr.allocator';

describe('podCidrCandidates', () => {
  const claims = (entries: Record<string, string>) => new Map(Object.entries(entries));
  const table: [string, string | undefined, Record<string, string>, string[]][] = [
    // [case, recorded on the Node, claims, first candidates]
    ['a new node gets the first slice', undefined, {}, ['100.64.0.0/24', '100.64.1.0/24']],
    ['slices of other nodes are skipped', undefined, { '100.64.0.0/24': 'node-1', '100.64.1.0/24': 'node-2' }, ['100.64.2.0/24', '100.64.3.0/24']],
    ['a re-registering node keeps its recorded slice', '100.64.7.0/24', { '100.64.7.0/24': 'node-3' }, ['100.64.7.0/24', '100.64.0.0/24']],
    ['a node whose Node object was lost finds its claim', undefined, { '100.64.0.0/24': 'node-1', '100.64.5.0/24': 'node-3' }, ['100.64.5.0/24', '100.64.1.0/24']],
    ['a recorded slice another node holds is not taken', '100.64.0.0/24', { '100.64.0.0/24': 'node-1' }, ['100.64.1.0/24']],
    ['a recorded slice outside a changed --pod-cidr is dropped', '10.1.0.0/24', {}, ['100.64.0.0/24']],
  ];
  for (const [title, recorded, held, first] of table) {
    it(title, () => assert.deepEqual(podCidrCandidates('100.64.0.0/16', 'node-3', recorded, claims(held)).slice(0, first.length), first));
  }
  it('offers all 256 slices of a /16 (2^(24-16)) to the first node, and none when all are held', () => {
    assert.equal(podCidrCandidates('100.64.0.0/16', 'n', undefined, new Map()).length, 256);
    const full = new Map(podCidrCandidates('100.64.0.0/22', 'x', undefined, new Map()).map((c) => [c, 'x']));
    assert.deepEqual(podCidrCandidates('100.64.0.0/22', 'n', undefined, full), []);
  });
});

describe('parseClusterCidr', () => {
  it('accepts a block holding at least one /24', () => assert.equal(parseClusterCidr('100.64.0.0/16'), '100.64.0.0/16'));
  it('cuts /22 slices when told (--node-slice-prefix 22: 2^(22-16) = 64 of a /16, 1,021 containers each)', () => {
    const slices = podCidrCandidates('100.64.0.0/16', 'node-1', undefined, new Map(), 22);
    assert.equal(slices.length, 64);
    assert.deepEqual(slices.slice(0, 2), ['100.64.0.0/22', '100.64.4.0/22']);
    assert.throws(() => parseClusterCidr('100.64.0.0/23', 22), /smaller than one node's slice \(a \/22\)/);
  });
  it('refuses a block smaller than a node slice', () => assert.throws(() => parseClusterCidr('100.64.0.0/25'), /smaller than one node's slice/));
  it('refuses a malformed block', () => assert.throws(() => parseClusterCidr('100.64.0.1/16'), /host bits/));
});

describe('PodCidrAllocator on etcd', { timeout: 300_000 }, () => {
  let etcd: TestEtcd;
  before(async () => (etcd = await startTestEtcd()));
  after(async () => etcd?.stop());

  it('never gives one slice to two nodes, even with two control planes allocating at once', async () => {
    // Two allocators over one etcd, as two control planes are; 12 nodes register with both at once.
    const cluster = '100.64.0.0/20'; // 16 slices
    const a = new PodCidrAllocator(cluster, new PodCidrClaims(etcd.client));
    const b = new PodCidrAllocator(cluster, new PodCidrClaims(etcd.client));
    const nodes = Array.from({ length: 12 }, (_, i) => `race-${i}`);
    const given = await Promise.all(nodes.map((node, i) => (i % 2 ? a : b).forNode(node, undefined).then((cidr) => [node, cidr] as const)));
    const slices = given.map(([, cidr]) => cidr);
    assert.equal(new Set(slices).size, nodes.length, `distinct slices: ${slices.join(' ')}`);
    // The same node registering again (with either control plane) keeps its slice.
    for (const [node, cidr] of given) assert.equal(await a.forNode(node, cidr), cidr);
    assert.equal(await b.forNode('race-3', undefined), given[3][1], 'found by its claim without a recorded slice');
  });

  it('says when the container network is full', async () => {
    const allocator = new PodCidrAllocator('100.65.0.0/23', new PodCidrClaims(etcd.client));
    await allocator.forNode('full-1', undefined);
    await allocator.forNode('full-2', undefined);
    await assert.rejects(allocator.forNode('full-3', undefined), /no free \/24 left in the container network 100\.65\.0\.0\/23 \(all 2 are held/);
  });
});
