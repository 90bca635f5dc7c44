import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { GiB, node, replica } from '../testing';
import { NodeInfo, PendingReplica, ReplicaContext } from '../types';
import { hostPortsFree, hostPortsOf } from './host-ports.plugin';
import { localVolumeNode } from './local-volume.plugin';
import { nodeResourcesFit } from './node-resources-fit.plugin';
import { nodeReady, nodeSelector, nodeUnschedulable } from './node-status.plugin';
import { bestFit, bestFitScore, imageLocality } from './scores.plugin';
import { serviceSpread, spreadCap } from './service-spread.plugin';

const context: ReplicaContext = { eligibleNodes: 1, serviceReplicas: 0 };

function verdict(status: { fits: boolean; reason?: string }): string {
  return status.fits ? 'fits' : status.reason!;
}

describe('filters', () => {
  const table: [string, (r: PendingReplica, n: NodeInfo, c: ReplicaContext) => { fits: boolean }, PendingReplica, NodeInfo, ReplicaContext, string][] = [
    ['NodeReady: ready', nodeReady.filter, replica('r', 1, 1), node('n', 1, 1), context, 'fits'],
    ['NodeReady: not ready', nodeReady.filter, replica('r', 1, 1), node('n', 1, 1, { ready: false }), context, 'not ready'],
    ['NodeUnschedulable: cordoned', nodeUnschedulable.filter, replica('r', 1, 1), node('n', 1, 1, { cordoned: true }), context, 'cordoned'],
    ['NodeSelector: every label matches', nodeSelector.filter, replica('r', 1, 1, { nodeSelector: { disk: 'ssd' } }),
      node('n', 1, 1, { labels: { disk: 'ssd', zone: 'a' } }), context, 'fits'],
    ['NodeSelector: one label differs', nodeSelector.filter, replica('r', 1, 1, { nodeSelector: { disk: 'ssd', zone: 'b' } }),
      node('n', 1, 1, { labels: { disk: 'ssd', zone: 'a' } }), context, 'node selector mismatch'],
    // 3000 requested + 1000 = 4000 ≤ 4000 allocatable: exactly full still fits
    ['NodeResourcesFit: exactly full', nodeResourcesFit.filter, replica('r', 1000, GiB),
      node('n', 4000, 4 * GiB, { requested: { cpu: 3000, memory: 3 * GiB } }), context, 'fits'],
    // 3500 + 1000 = 4500 > 4000
    ['NodeResourcesFit: cpu short by 500m', nodeResourcesFit.filter, replica('r', 1000, GiB),
      node('n', 4000, 4 * GiB, { requested: { cpu: 3500, memory: 0 } }), context, 'insufficient cpu'],
    // 3.5 GiB + 1 GiB = 4.5 GiB > 4 GiB
    ['NodeResourcesFit: memory short', nodeResourcesFit.filter, replica('r', 1000, GiB),
      node('n', 4000, 4 * GiB, { requested: { cpu: 0, memory: 3.5 * GiB } }), context, 'insufficient memory'],
    ['HostPorts: another replica holds 8080', hostPortsFree.filter, replica('r', 1, 1, { hostPorts: [9090, 8080] }),
      node('n', 1, 1, { hostPorts: new Set([8080]) }), context, 'host port 8080 in use'],
    ['LocalVolume: on the node holding it', localVolumeNode.filter, replica('r', 1, 1, { localVolumes: [{ volume: 'shop/pgdata', node: 'n' }] }),
      node('n', 1, 1), context, 'fits'],
    ['LocalVolume: held by another node', localVolumeNode.filter, replica('r', 1, 1, { localVolumes: [{ volume: 'shop/pgdata', node: 'n2' }] }),
      node('n', 1, 1), context, 'local volume shop/pgdata is on node n2'],
    ['LocalVolume: two volumes on two nodes fit nowhere', localVolumeNode.filter,
      replica('r', 1, 1, { localVolumes: [{ volume: 'shop/a', node: 'n' }, { volume: 'shop/b', node: 'n2' }] }), node('n', 1, 1), context, 'local volume shop/b is on node n2'],
    ['LocalVolume: none used', localVolumeNode.filter, replica('r', 1, 1), node('n', 1, 1), context, 'fits'],
    ['HostPorts: different ports', hostPortsFree.filter, replica('r', 1, 1, { hostPorts: [9090] }),
      node('n', 1, 1, { hostPorts: new Set([8080]) }), context, 'fits'],
    // 10 replicas, 4 eligible nodes: floor(10/4) + 1 = 3 allowed; 2 here + 1 = 3 ≤ 3
    ['ServiceSpread: up to fair share + skew', serviceSpread.filter, replica('r', 1, 1),
      node('n', 1, 1, { replicasOfService: { 'default/web': 2 } }), { eligibleNodes: 4, serviceReplicas: 10 }, 'fits'],
    // 3 here + 1 = 4 > 3
    ['ServiceSpread: beyond fair share + skew', serviceSpread.filter, replica('r', 1, 1),
      node('n', 1, 1, { replicasOfService: { 'default/web': 3 } }), { eligibleNodes: 4, serviceReplicas: 10 }, 'service spread (max skew 1)'],
    // floor(10/4) + 2 = 4: a larger skew allows the fourth
    ['ServiceSpread: maxSkew 2', serviceSpread.filter, replica('r', 1, 1, { maxSkew: 2 }),
      node('n', 1, 1, { replicasOfService: { 'default/web': 3 } }), { eligibleNodes: 4, serviceReplicas: 10 }, 'fits'],
    // other services on the node do not count
    ['ServiceSpread: other services', serviceSpread.filter, replica('r', 1, 1),
      node('n', 1, 1, { replicasOfService: { 'default/cache': 9 } }), { eligibleNodes: 9, serviceReplicas: 0 }, 'fits'],
  ];
  for (const [title, filter, r, n, c, expected] of table) {
    it(title, () => assert.equal(verdict(filter(r, n, c)), expected));
  }

  it('host ports are the container ports of host-network replicas only', () => {
    const ports = [{ containerPort: 8080, publish: 80 }, { containerPort: 9090 }];
    assert.deepEqual(hostPortsOf({ network: 'host', ports }), [8080, 9090]);
    assert.deepEqual(hostPortsOf({ network: 'bridge', ports }), []);
  });

  const caps: [string, ReplicaContext, number, number][] = [
    // floor(50000/min(5000, 10)) + 1 = 5001: a tenth of the service, whatever the cluster's size
    ['a large service in a large cluster', { eligibleNodes: 5000, serviceReplicas: 50_000 }, 1, 5001],
    // floor(9/10) + 1 = 1: the tenth replica goes to a tenth node
    ['a small service', { eligibleNodes: 5000, serviceReplicas: 9 }, 1, 1],
    // floor(10/10) + 1 = 2
    ['the eleventh replica', { eligibleNodes: 5000, serviceReplicas: 10 }, 1, 2],
    // three eligible nodes: floor(7/3) + 2 = 4
    ['fewer eligible nodes than ten', { eligibleNodes: 3, serviceReplicas: 7 }, 2, 4],
    // floor(7/max(1, 0)) + 2 = 9, never a division by zero
    ['no eligible node', { eligibleNodes: 0, serviceReplicas: 7 }, 2, 9],
  ];
  for (const [title, c, maxSkew, expected] of caps) it(`spreadCap: ${title}`, () => assert.equal(spreadCap(c, maxSkew), expected));
});

describe('scores', () => {
  const table: [string, { cpu: number; memory: number }, { cpu: number; memory: number }, number][] = [
    // u_cpu = 3000/4000 = 0.75, u_mem = 3/4 = 0.75 → 75×0.75 + 25×0.75 = 75
    ['balanced and three quarters full', { cpu: 4000, memory: 4 * GiB }, { cpu: 3000, memory: 3 * GiB }, 75],
    // u_cpu = 1, u_mem = 0.5 → 75×0.5 + 25×1 = 62.5 (the balance penalty: 75 without it)
    ['full on cpu, half on memory', { cpu: 4000, memory: 4 * GiB }, { cpu: 4000, memory: 2 * GiB }, 62.5],
    // u_cpu = 0.25, u_mem = 0.25 → 25
    ['a quarter full', { cpu: 4000, memory: 4 * GiB }, { cpu: 1000, memory: GiB }, 25],
    // u_cpu = 0, u_mem = 1 → 75×0 + 25×1 = 25: all memory, no cpu, strands the cpu
    ['memory full, cpu idle', { cpu: 4000, memory: 4 * GiB }, { cpu: 0, memory: 4 * GiB }, 25],
    // u_cpu = 1000/4000 = 0.25, u_mem = 3/4 = 0.75 → 75×0.25 + 25×0.75 = 37.5
    ['lagging cpu weighs three times', { cpu: 4000, memory: 4 * GiB }, { cpu: 1000, memory: 3 * GiB }, 37.5],
  ];
  for (const [title, allocatable, after, expected] of table) {
    it(`bestFitScore: ${title}`, () => assert.equal(bestFitScore(allocatable, after), expected));
  }

  it('BestFit scores the node as it would be after the placement', () => {
    // (1000 + 1000)/4000 = 0.5 and (1 + 1)/4 GiB = 0.5 → 50
    const n = node('n', 4000, 4 * GiB, { requested: { cpu: 1000, memory: GiB } });
    assert.equal(bestFit.score(replica('r', 1000, GiB), n), 50);
  });

  it('ImageLocality: 100 when the node has the image, else 0', () => {
    const n = node('n', 1, 1, { images: new Set(['web:1']) });
    assert.equal(imageLocality.score(replica('r', 1, 1, { image: 'web:1' }), n), 100);
    assert.equal(imageLocality.score(replica('r', 1, 1, { image: 'web:2' }), n), 0);
    assert.equal(imageLocality.score(replica('r', 1, 1), n), 0);
  });
});
