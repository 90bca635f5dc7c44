/**
 * The publisher against a real etcd: what every agent's stream receives, in order (the wire
 * encoding is libs/proto's agent.mapper.spec.ts). How fast a change reaches the agents is a timing
 * target: a benchmark's, not this test's.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, PublishedEndpoints, Replica, Service, replicaTemplate } from '@tide/api';
import { waitFor } from '@tide/api/dist/testing';
import { ClusterCache, ObjectStore } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/dist/testing';
import { EndpointsPublisher } from './endpoints.publisher';

const web: Service = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 1, image: 'node', ports: [{ containerPort: 8080, publish: 18080, protocol: 'HTTP' }] },
};

describe('EndpointsPublisher', () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  let cache: ClusterCache;
  let publisher: EndpointsPublisher;
  const received: PublishedEndpoints[] = [];

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    cache = new ClusterCache(etcd.client);
    await cache.start();
    publisher = new EndpointsPublisher(cache);
    await publisher.start();
  });

  after(async () => {
    await publisher?.close();
    await cache?.stop();
    await etcd?.stop();
  });

  async function next(count: number): Promise<PublishedEndpoints> {
    await waitFor(() => received.length >= count, { what: `endpoints message ${count}`, detail: () => JSON.stringify(received) });
    return received[count - 1];
  }

  it('sends the current set at once, then each change, and nothing when nothing changed', async () => {
    await store.create<Node>({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name: 'node-1', namespace: 'default' }, spec: { address: '127.0.1.1' },
      status: { ready: true, capacity: { cpu: 1, memory: 1 }, allocatable: { cpu: 1, memory: 1 } } });
    await store.create(web);
    // An agent already watching gets the set once the publisher has read it...
    const early: PublishedEndpoints[] = [];
    publisher.watch({ node: 'node-2', write: (message) => early.push(message), end: () => undefined, on: () => undefined });
    await waitFor(() => early.some((m) => m.ports.length > 0), { what: 'the publisher reading the web service', detail: () => JSON.stringify(early) });
    // ...and one that starts watching now gets it as its first message.
    publisher.watch({ node: 'node-1', write: (message) => received.push(message), end: () => undefined, on: () => undefined });
    const first = await next(1);
    assert.deepEqual(first.ports.map((p) => [p.service, p.publish, p.protocol, p.endpoints.length]), [['web', 18080, 'HTTP', 0]]);

    const replica: Replica = {
      apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-a', namespace: 'default' },
      spec: { service: 'web', templateHash: 'h', template: replicaTemplate(web), nodeName: 'node-1' },
      status: { phase: 'Running', ready: true, restartCount: 0, ip: '100.64.0.2' },
    };
    await store.create(replica);
    const second = await next(2);
    assert.deepEqual(second.ports[0].endpoints, [{ address: '100.64.0.2', port: 8080, replica: 'web-a', nodeName: 'node-1' }]);

    await store.mutate<Replica>('Replica', 'default', 'web-a', (r) => ({ ...r, status: { ...r.status!, restartCount: 1 } }));
    await store.mutate<Replica>('Replica', 'default', 'web-a', (r) => ({ ...r, metadata: { ...r.metadata, deletionTimestamp: new Date().toISOString() } }));
    const third = await next(3);
    assert.deepEqual(third.ports[0].endpoints, [], 'a replica marked for deletion leaves at once');
    assert.equal(received.length, 3, 'the restart count change alone sent nothing');
  });

  it('sends every service that has its IP, with its ports\' ready endpoints, also one without ports', async () => {
    const status = { replicas: 1, readyReplicas: 1, runningReplicas: 1, pendingReplicas: 0 };
    await store.mutate<Service>('Service', 'default', 'web', (s) => ({ ...s, status: { ...status, clusterIP: '100.96.0.1' } }));
    await store.create<Service>({ apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'worker', namespace: 'default' },
      spec: { replicas: 1, image: 'busybox' }, status: { ...status, clusterIP: '100.96.0.2' } });
    await store.create<Replica>({
      apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-b', namespace: 'default' },
      spec: { service: 'web', templateHash: 'h', template: replicaTemplate(web), nodeName: 'node-1' },
      status: { phase: 'Running', ready: true, restartCount: 0, ip: '100.64.0.3' },
    });
    const message = await waitFor(() => {
      const last = received[received.length - 1];
      return last?.services.length === 2 && last.services[0].ports[0]?.endpoints.length === 1 ? last : undefined;
    }, { what: 'both services in a message', detail: () => JSON.stringify(received[received.length - 1]) });
    assert.deepEqual(message.services, [
      { namespace: 'default', service: 'web', ip: '100.96.0.1', ports: [
        { port: 8080, protocol: 'HTTP', endpoints: [{ address: '100.64.0.3', port: 8080, replica: 'web-b', nodeName: 'node-1' }] },
      ] },
      { namespace: 'default', service: 'worker', ip: '100.96.0.2', ports: [] },
    ]);
  });
});
