/**
 * The scheduler loop over a real etcd and the real agents' gRPC endpoint: images an agent reports
 * reach the Node and decide between equal nodes, placement.maxSkew reaches the spread filter, an
 * unplaceable replica stores its per-node reasons, a status report lands, the kept node view is
 * updated node by node rather than rebuilt every cycle, and fresh replicas are created bound.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { API_VERSION, Node, Replica, Service, replicaTemplate, templateHash } from '@tide/api';
import { ClusterCache, NodeLeases, ObjectStore, PodCidrClaims } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/testing';
import { AgentGrpcServer } from '../agent-service/agent.grpc';
import { ControlPlaneMetrics } from '../metrics';
import { PodCidrAllocator } from '../network/pod-cidr.allocator';
import { EndpointsPublisher } from '../endpoints/endpoints.publisher';
import { AgentTestPki, agentTestPki } from '../testing/agent.pki';
import { TestAgentClient } from '../testing/test-agent.grpc';
import { EventRecorder } from './events.recorder';
import { SchedulerLoop } from './scheduler.loop';

const GiB = 2 ** 30;
const GRPC_PORT = 19071;

function service(name: string, image: string, spec: Partial<Service['spec']> = {}): Service {
  return { apiVersion: API_VERSION, kind: 'Service', metadata: { name, namespace: 'default' }, spec: { replicas: 1, image, resources: { requests: { cpu: '500m', memory: '256Mi' } }, ...spec } };
}

function replicasOf(svc: Service, count: number): Replica[] {
  const template = replicaTemplate(svc);
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: API_VERSION, kind: 'Replica', metadata: { name: `${svc.metadata.name}-${i}`, namespace: 'default' },
    spec: { service: svc.metadata.name, templateHash: templateHash(template), template }, status: { phase: 'Pending', ready: false, restartCount: 0 },
  }));
}

describe('scheduler loop with agents reporting', { timeout: 300_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  let cache: ClusterCache;
  let server: AgentGrpcServer;
  let pki: AgentTestPki;
  /** One client per node, each with its own node's certificate (the endpoint takes the node from it). */
  const agents = new Map<string, TestAgentClient>();
  const addresses = new Map<string, string>();
  const agent = {
    register: (registration: Parameters<TestAgentClient['register']>[0]) => agentFor(registration.nodeName).then((a) => a.register(registration)),
    heartbeat: (heartbeat: Parameters<TestAgentClient['heartbeat']>[0]) => agentFor(heartbeat.nodeName).then((a) => a.heartbeat(heartbeat)),
    reportStatus: (report: Parameters<TestAgentClient['reportStatus']>[0]) => agentFor(report.nodeName).then((a) => a.reportStatus(report)),
  };
  async function agentFor(node: string): Promise<TestAgentClient> {
    if (!agents.has(node)) agents.set(node, new TestAgentClient(`127.0.0.1:${GRPC_PORT}`, await pki.node(node)));
    return agents.get(node)!;
  }
  let leases: NodeLeases;
  let loop: SchedulerLoop;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    cache = new ClusterCache(etcd.client);
    await cache.start();
    leases = new NodeLeases(etcd.client, 10);
    const events = new EventRecorder(store, 'test');
    const podCidrs = new PodCidrAllocator('100.64.128.0/18', new PodCidrClaims(etcd.client), 24);
    pki = await agentTestPki(etcd.client, cache);
    server = new AgentGrpcServer({ store, cache, leases, events, podCidrs, heartbeatIntervalMs: 1000, endpoints: new EndpointsPublisher(cache), enrollment: pki.enrollment });
    await server.listen(`127.0.0.1:${GRPC_PORT}`, pki.server);
    loop = new SchedulerLoop(store, cache, events, new ControlPlaneMetrics());
  });
  after(async () => {
    for (const client of agents.values()) client.close();
    await server?.close();
    leases?.close();
    await cache?.stop();
    await etcd?.stop();
  });

  async function register(name: string, images: string[]): Promise<void> {
    const resources = { cpuMillis: 2000, memoryBytes: 2 * GiB };
    // Each node its own address: a node may not take another's (NodeRestriction).
    if (!addresses.has(name)) addresses.set(name, `198.18.0.${addresses.size + 1}`);
    await agent.register({ nodeName: name, address: addresses.get(name)!, agentPort: 1, capacity: resources, allocatable: resources, labels: {}, images });
  }

  async function settle(): Promise<void> {
    const { revision } = await store.list('Service');
    await cache.waitFor(revision, 60_000);
  }

  it('places on the node whose agent reported the image, and follows a change reported by heartbeat', async () => {
    await register('a', []);
    await register('b', ['app:1']);
    const app = service('app', 'app:1');
    await store.create(app);
    for (const r of replicasOf(app, 1)) await store.create(r);
    await settle();
    await loop.cycle();
    assert.deepEqual((await store.get<Node>('Node', 'default', 'b'))?.status?.images, ['app:1']);
    assert.equal((await store.get<Replica>('Replica', 'default', 'app-0'))?.spec.nodeName, 'b', 'b has the image; a would win the tie otherwise');

    await agent.heartbeat({ nodeName: 'a', images: ['app:2'] });
    assert.deepEqual((await store.get<Node>('Node', 'default', 'a'))?.status?.images, ['app:2']);
    const app2 = service('app2', 'app:2');
    await store.create(app2);
    await settle();
    // Packing outweighs image locality (20 : 1), and b is fuller now: the view itself is what to check.
    assert.deepEqual([...(loop.view.current().node('a')?.images ?? [])], ['app:2']);
    assert.deepEqual([...(loop.view.current().node('b')?.images ?? [])], ['app:1']);
  });

  it('lets placement.maxSkew through to the spread filter', async () => {
    // 2 nodes, 4 replicas of 100m: the fair share is floor(n / 2); with maxSkew 3 best fit may stack
    // all four on one node (cap floor(3/2) + 3 = 4), with the default of 1 it may not (cap 2).
    const skewed = service('skewed', 'busybox', { placement: { maxSkew: 3 }, resources: { requests: { cpu: '100m', memory: '64Mi' } } });
    await store.create(skewed);
    for (const r of replicasOf(skewed, 4)) await store.create(r);
    await settle();
    await loop.cycle();
    const nodes = (await store.list<Replica>('Replica')).items.filter((r) => r.spec.service === 'skewed').map((r) => r.spec.nodeName);
    assert.equal(new Set(nodes).size, 1, `all four on one node: ${nodes.join(', ')}`);
  });

  it('stores why a replica fits nowhere, per node', async () => {
    const huge = service('huge', 'busybox', { resources: { requests: { cpu: '8', memory: '64Mi' } } });
    await store.create(huge);
    for (const r of replicasOf(huge, 1)) await store.create(r);
    await settle();
    await loop.cycle();
    const stored = await store.get<Replica>('Replica', 'default', 'huge-0');
    assert.equal(stored?.spec.nodeName, undefined);
    assert.deepEqual(stored?.status?.unschedulable, { summary: '0/2 nodes available: 2 insufficient cpu', nodes: { a: 'insufficient cpu', b: 'insufficient cpu' } });
  });

  it('applies a status report and keeps its node view without rebuilding', async () => {
    const rebuilds = loop.view.stats.rebuilds;
    const onB = (await store.list<Replica>('Replica')).items.filter((r) => r.spec.nodeName === 'b');
    await agent.reportStatus({
      nodeName: 'b', gone: [], replicas: onB.map((r) => ({ namespace: 'default', name: r.metadata.name, phase: 'Running', ready: true, restartCount: 0 })),
    });
    const after = (await store.list<Replica>('Replica')).items.filter((r) => r.spec.nodeName === 'b');
    assert.ok(after.length > 0 && after.every((r) => r.status?.phase === 'Running' && r.status.ready));
    const more = service('more', 'busybox', { resources: { requests: { cpu: '100m', memory: '64Mi' } } });
    await store.create(more);
    for (const r of replicasOf(more, 2)) await store.create(r);
    await settle();
    await loop.cycle();
    assert.equal((await store.list<Replica>('Replica')).items.filter((r) => r.spec.service === 'more' && r.spec.nodeName).length, 2);
    assert.equal(loop.view.stats.rebuilds, rebuilds, 'replica changes update nodes in place');
    assert.ok(loop.view.stats.nodeUpdates > 0);
  });

  it('creates fresh replicas bound, and leaves those that fit nowhere or whose name is taken', async () => {
    const fresh = service('fresh', 'busybox', { resources: { requests: { cpu: '100m', memory: '64Mi' } } });
    const giant = service('giant', 'busybox', { resources: { requests: { cpu: '8', memory: '64Mi' } } });
    await store.create(fresh);
    await store.create(giant);
    const [taken] = replicasOf(fresh, 1).map((r) => ({ ...r, metadata: { ...r.metadata, name: 'fresh-taken' } }));
    await store.create(taken);
    await settle();
    const asNew = (r: Replica) => ({ ...r, metadata: { ...r.metadata, uid: `uid-${r.metadata.name}`, creationTimestamp: new Date().toISOString() } });
    const placed = replicasOf(fresh, 3).map(asNew);
    const tooBig = replicasOf(giant, 1).map(asNew);
    const clash = asNew({ ...taken, metadata: { name: 'fresh-taken', namespace: 'default' } });
    const { left, revision } = await loop.createPlaced([...placed, ...tooBig]);
    assert.deepEqual(left.map((r) => r.metadata.name), ['giant-0'], 'no node takes it: the caller creates it Pending');
    for (const r of placed) {
      const stored = await store.get<Replica>('Replica', 'default', r.metadata.name);
      assert.ok(stored?.spec.nodeName, `${r.metadata.name} is stored bound`);
      assert.equal(stored.status?.phase, 'Scheduled');
      assert.equal(stored.metadata.uid, `uid-${r.metadata.name}`);
    }
    assert.equal(await store.get('Replica', 'default', 'giant-0'), undefined, 'a replica left is not written');
    await cache.waitFor(revision, 60_000);
    const again = await loop.createPlaced([clash]);
    assert.deepEqual(again.left.map((r) => r.metadata.name), ['fresh-taken'], 'its transaction is refused: the name is taken');
    assert.equal((await store.get<Replica>('Replica', 'default', 'fresh-taken'))?.spec.nodeName, undefined, 'the stored replica is untouched');
  });
});
