/** The publisher against a real etcd and a real gRPC stream: what every agent receives, and how fast. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Node, Replica, Service, replicaTemplate } from '@tide/api';
import { AgentServiceClient, Endpoints, Endpoints__Output, loadAgentProto } from '@tide/proto';
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
  let server: grpc.Server;
  let client: AgentServiceClient;
  const received: { at: number; message: Endpoints__Output }[] = [];

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    cache = new ClusterCache(etcd.client);
    await cache.start();
    publisher = new EndpointsPublisher(cache);
    await publisher.start();
    const proto = loadAgentProto();
    server = new grpc.Server();
    server.addService(proto.tide.v1.AgentService.service, {
      WatchEndpoints: (call: grpc.ServerWritableStream<{ nodeName: string }, Endpoints>) => publisher.watch(call),
    } as never);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    client = new proto.tide.v1.AgentService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AgentServiceClient;
  });

  after(async () => {
    client?.close();
    await publisher?.close();
    await cache?.stop();
    server?.forceShutdown();
    await etcd?.stop();
  });

  async function next(count: number): Promise<Endpoints__Output> {
    const deadline = Date.now() + 5000;
    while (received.length < count) {
      if (Date.now() > deadline) throw new Error(`no endpoints message ${count} (got ${received.length})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return received[count - 1].message;
  }

  it('sends the current set at once, then each change within a second, and nothing when nothing changed', async () => {
    await store.create<Node>({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name: 'node-1', namespace: 'default' }, spec: { address: '127.0.1.1' },
      status: { ready: true, capacity: { cpu: 1, memory: 1 }, allocatable: { cpu: 1, memory: 1 } } });
    await store.create(web);
    const stream = client.WatchEndpoints({ nodeName: 'node-1' });
    stream.on('data', (message: Endpoints__Output) => received.push({ at: Date.now(), message }));
    stream.on('error', () => undefined);
    const first = await next(1);
    assert.deepEqual(first.ports.map((p) => [p.service, p.publish, p.protocol, p.endpoints.length]), [['web', 18080, 'HTTP', 0]]);

    const replica: Replica = {
      apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-a', namespace: 'default' },
      spec: { service: 'web', templateHash: 'h', template: replicaTemplate(web), nodeName: 'node-1' },
      status: { phase: 'Running', ready: true, restartCount: 0, ip: '100.64.0.2' },
    };
    const readyAt = Date.now();
    await store.create(replica);
    const second = await next(2);
    assert.deepEqual(second.ports[0].endpoints, [{ address: '100.64.0.2', port: 8080, replica: 'web-a', nodeName: 'node-1' }]);
    assert.ok(received[1].at - readyAt < 1000, `pushed ${received[1].at - readyAt} ms after the change`);

    await store.mutate<Replica>('Replica', 'default', 'web-a', (r) => ({ ...r, status: { ...r.status!, restartCount: 1 } }));
    const terminatingAt = Date.now();
    await store.mutate<Replica>('Replica', 'default', 'web-a', (r) => ({ ...r, metadata: { ...r.metadata, deletionTimestamp: new Date().toISOString() } }));
    const third = await next(3);
    assert.deepEqual(third.ports[0].endpoints, [], 'a replica marked for deletion leaves at once');
    assert.ok(received[2].at - terminatingAt < 1000);
    assert.equal(received.length, 3, 'the restart count change alone sent nothing');
  });
});
