import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { nodeView, replicaView, serviceView, viewKey } from './dashboard.view';
import { API_VERSION, type Node, type Replica, type Service } from './types';

describe('dashboard views', () => {
  it('a node: readiness, cordon and drain, capacity and allocatable', () => {
    const node = {
      apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'n1', namespace: 'default' },
      spec: { address: '10.0.0.1', cordoned: true, drain: { reason: 'Drain', startedAt: '2026-01-01T00:00:00Z' } },
      status: { ready: false, capacity: { cpu: 4000, memory: 8 }, allocatable: { cpu: 3800, memory: 6 } },
    } as Node;
    assert.deepEqual(nodeView(node), {
      name: 'n1', ready: false, cordoned: true, draining: 'Drain', capacity: { cpu: 4000, memory: 8 }, allocatable: { cpu: 3800, memory: 6 },
    });
    // A node that never reported: not ready, nothing to place on.
    assert.deepEqual(nodeView({ ...node, spec: { address: 'x' }, status: undefined } as unknown as Node), {
      name: 'n1', ready: false, cordoned: false, capacity: { cpu: 0, memory: 0 }, allocatable: { cpu: 0, memory: 0 },
    });
  });

  it('a service: desired from the spec, the rest from the status', () => {
    const service = {
      apiVersion: API_VERSION, kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 5, image: 'web:1' },
      status: { replicas: 4, readyReplicas: 3, runningReplicas: 4, pendingReplicas: 0, revision: 2, updatedReplicas: 1 },
    } as Service;
    assert.deepEqual(serviceView(service), { namespace: 'shop', name: 'web', desired: 5, replicas: 4, ready: 3, revision: 2, updated: 1 });
    assert.deepEqual(serviceView({ ...service, status: undefined } as unknown as Service), { namespace: 'shop', name: 'web', desired: 5, replicas: 0, ready: 0 });
  });

  it('a replica: its requests and node; Pending until it has a status', () => {
    const replica = {
      apiVersion: API_VERSION, kind: 'Replica', metadata: { name: 'web-abc', namespace: 'shop' },
      spec: { service: 'web', templateHash: 'h', nodeName: 'n1', template: { requests: { cpuMillis: 250, memoryBytes: 2 ** 27 } } },
      status: { phase: 'Running', ready: true, restartCount: 0 },
    } as unknown as Replica;
    assert.deepEqual(replicaView(replica), { namespace: 'shop', name: 'web-abc', service: 'web', node: 'n1', cpu: 250, memory: 2 ** 27, phase: 'Running', ready: true });
    const fresh = { ...replica, spec: { ...replica.spec, nodeName: undefined }, status: undefined } as unknown as Replica;
    assert.deepEqual(replicaView(fresh), { namespace: 'shop', name: 'web-abc', service: 'web', cpu: 250, memory: 2 ** 27, phase: 'Pending', ready: false });
    assert.equal(viewKey(replicaView(replica)), 'shop/web-abc');
    assert.equal(viewKey({ name: 'n1' }), 'n1');
  });
});
