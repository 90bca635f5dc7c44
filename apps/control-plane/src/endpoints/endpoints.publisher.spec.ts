/**
 * The publisher against a real etcd and a real gRPC stream: what every agent receives, in order.
 * How fast a change reaches the agents is a timing target: a benchmark's, not this test's.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Node, Replica, Service, replicaTemplate } from '@tide/api';
import { AgentServiceClient, Endpoints, Endpoints__Output, loadAgentProto } from '@tide/proto';
import { waitFor } from '@tide/api/dist/testing';
import { ObjectStore } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/dist/testing';
import { EndpointsPublisher } from './endpoints.publisher';

const web: Service = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 1, image: 'node', ports: [{ containerPort: 8080, publish: 18080, protocol: 'HTTP' }] },
};

describe('EndpointsPublisher', () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  let publisher: EndpointsPublisher;
  let server: grpc.Server;
  let client: AgentServiceClient;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    publisher = new EndpointsPublisher(store);
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
    server?.forceShutdown();
    await etcd?.stop();
  });

  /** Opens a WatchEndpoints stream of node-1; `messages` fills as they come. */
  function open(): { messages: Endpoints__Output[]; next(count: number): Promise<Endpoints__Output>; cancel(): void } {
    const messages: Endpoints__Output[] = [];
    const stream = client.WatchEndpoints({ nodeName: 'node-1' });
    stream.on('data', (message: Endpoints__Output) => messages.push(message));
    stream.on('error', () => undefined);
    return {
      messages,
      // Message number `count` of the stream, once it has come.
      next: async (count) => {
        await waitFor(() => messages.length >= count, { what: `endpoints message ${count}`, detail: () => JSON.stringify(messages) });
        return messages[count - 1];
      },
      cancel: () => stream.cancel(),
    };
  }

  it('sends the current set at once, then each change, and nothing when nothing changed', async () => {
    await store.create<Node>({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name: 'node-1', namespace: 'default' }, spec: { address: '127.0.1.1' },
      status: { ready: true, capacity: { cpu: 1, memory: 1 }, allocatable: { cpu: 1, memory: 1 } } });
    await store.create(web);
    // The publisher learns of the new service through its watch: a stream open meanwhile gets it as a change.
    const early = open();
    await waitFor(() => early.messages.some((m) => m.ports.some((p) => p.service === 'web')), { what: 'the service on a stream opened before the publisher knew it',
      detail: () => JSON.stringify(early.messages) });
    early.cancel();
    // Now the publisher knows the set: a new stream gets it as its first message.
    const { messages, next } = open();
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

    // The stream keeps the order of the changes: had the restart count alone sent a message, it
    // would come third, with the endpoint still in it. Nothing observable says when the publisher
    // has looked at a change that leaves the set as it was, so a pause longer than its 20 ms burst
    // lets a wrong message out before the next change. (A window for something not to happen: a
    // slow machine can only make it miss a wrong message, never fail a right publisher.)
    await store.mutate<Replica>('Replica', 'default', 'web-a', (r) => ({ ...r, status: { ...r.status!, restartCount: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await store.mutate<Replica>('Replica', 'default', 'web-a', (r) => ({ ...r, metadata: { ...r.metadata, deletionTimestamp: new Date().toISOString() } }));
    const third = await next(3);
    assert.deepEqual(third.ports[0].endpoints, [], 'a replica marked for deletion leaves at once, the restart count change alone sent nothing');
    assert.equal(messages.length, 3, 'the restart count change alone sent nothing');
  });
});
