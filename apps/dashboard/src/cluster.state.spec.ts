import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { DashboardSnapshot, NodeView, ReplicaView } from '@tide/api';
import { ClusterState, fewestHolding } from './cluster.state';

const node = (name: string, cpu = 1000, memory = 2 ** 30): NodeView => ({
  name, ready: true, cordoned: false, capacity: { cpu, memory }, allocatable: { cpu, memory },
});
const replica = (name: string, nodeName?: string, cpu = 250): ReplicaView => ({
  namespace: 'default', name, service: 'web', ...(nodeName ? { node: nodeName } : {}), cpu, memory: 2 ** 27, phase: 'Running', ready: true,
});
const snapshot = (over: Partial<DashboardSnapshot> = {}): DashboardSnapshot => ({
  revision: 10, namespace: 'default', subject: 'token:abc', may: { scale: true, rollback: true, cordon: true, drain: true },
  nodes: [node('n1'), node('n2')], services: [{ namespace: 'default', name: 'web', desired: 3, replicas: 3, ready: 2 }],
  replicas: [replica('web-a', 'n1'), replica('web-b', 'n1'), replica('web-c')], ...over,
});
const none = { upsert: [], remove: [] };

describe('ClusterState', () => {
  it('indexes a snapshot by node, pending replicas apart', () => {
    const state = new ClusterState();
    const touched = state.load(snapshot());
    assert.equal(touched.all, true);
    assert.deepEqual(state.replicasOn('n1').map((r) => r.name), ['web-a', 'web-b']);
    assert.deepEqual(state.replicasOn('n2'), []);
    assert.deepEqual(state.pendingReplicas().map((r) => r.name), ['web-c']);
  });

  it('usage touches only the used numbers of the nodes it names, and forgets the unknown ones', () => {
    const state = new ClusterState();
    state.load(snapshot());
    const first = state.applyUsage({ nodes: [{ name: 'n1', cpu: 120, memory: 2 ** 25 }, { name: 'n2', cpu: 0, memory: 0 }], unknown: [] });
    assert.deepEqual([first.all, [...first.nodes], [...first.used].sort(), first.services, first.pending], [false, [], ['n1', 'n2'], false, false]);
    assert.equal(state.usage.get('n1')?.cpu, 120);
    const second = state.applyUsage({ nodes: [], unknown: ['n2'] });
    assert.deepEqual([...second.used], ['n2']);
    assert.equal(state.usage.has('n2'), false);
    state.load(snapshot());
    assert.equal(state.usage.get('n1')?.cpu, 120, 'a snapshot keeps the usage: the stream sends usage apart');
  });

  it('a replica that moves touches the bin it left and the one it joined, and nothing else', () => {
    const state = new ClusterState();
    state.load(snapshot({ nodes: [node('n1'), node('n2'), node('n3')] }));
    const touched = state.apply({ revision: 11, nodes: none, services: none, replicas: { upsert: [replica('web-c', 'n2'), replica('web-a', 'n3')], remove: [] } });
    assert.deepEqual([...touched.nodes].sort(), ['n1', 'n2', 'n3']);
    assert.equal(touched.pending, true); // web-c left the pending list
    assert.equal(touched.services, false);
    assert.deepEqual(state.replicasOn('n1').map((r) => r.name), ['web-b']);
    assert.deepEqual(state.pendingReplicas(), []);
    assert.equal(state.revision, 11);
  });

  it('removes replicas, nodes and services by key', () => {
    const state = new ClusterState();
    state.load(snapshot());
    const touched = state.apply({
      revision: 12, nodes: { upsert: [], remove: ['n2'] }, services: { upsert: [], remove: ['default/web'] }, replicas: { upsert: [], remove: ['default/web-b'] },
    });
    assert.deepEqual([...touched.nodes].sort(), ['n1', 'n2']);
    assert.equal(touched.services, true);
    assert.deepEqual([...state.nodes.keys()], ['n1']);
    assert.equal(state.services.size, 0);
    assert.deepEqual(state.replicasOn('n1').map((r) => r.name), ['web-a']);
  });

  it('packing: nodes in use against the fewest that could hold the requests', () => {
    const state = new ClusterState();
    // 3 replicas of 250m = 750m: one 1000m node would do; two are in use (web-c pending counts toward the bound).
    state.load(snapshot({ replicas: [replica('web-a', 'n1'), replica('web-b', 'n2'), replica('web-c')] }));
    assert.deepEqual(state.packing(), { used: 2, lowerBound: 1 });
  });

  it('fewestHolding takes the largest first', () => {
    assert.equal(fewestHolding([500, 4000, 1000], 4500), 2); // 4000 + 1000
    assert.equal(fewestHolding([500, 500], 2000), 2); // never enough: all of them
    assert.equal(fewestHolding([1000], 0), 0);
  });
});
