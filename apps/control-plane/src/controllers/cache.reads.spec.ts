/**
 * The leader's loops, the endpoints publisher and the metrics work from the cache: on a real etcd,
 * every etcd read a pass makes is recorded, and none may span more than one key (a list of a kind
 * is what, at 10,000 replicas, no longer fits one etcd response and took the control plane down).
 * The passes must still act: a drain starts its moves, the autoscaler and the publisher see the
 * replicas, the gauges count them.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { IRangeRequest, IRangeResponse } from '@tide/store';
import { Node, Replica, Service, replicaTemplate, templateHash } from '@tide/api';
import { DEFAULT_PAGE_SIZE, NodeLeases } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { EndpointsPublisher } from '../endpoints/endpoints.publisher';
import { ControlPlaneMetrics } from '../metrics';
import { AutoscalerMetrics } from '../monitoring/autoscaler.metrics';
import { registerServiceReplicaGauges } from '../monitoring/cluster.metrics';
import { AutoscalerController } from './autoscaler.controller';
import { ConsolidationController } from './consolidation.controller';
import { DrainController } from './drain.controller';
import { EventRecorder } from './events.recorder';
import { NodeLifecycleController } from './node-lifecycle.controller';
import { SchedulerLoop } from './scheduler.loop';
import { ServiceController } from './service.controller';

const GI = 2 ** 30;

const web: Service = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 4, image: 'node', resources: { requests: { cpu: '100m', memory: '64Mi' } },
    ports: [{ containerPort: 8080, publish: 18080 }],
    autoscale: { minReplicas: 4, maxReplicas: 8, targetCPUUtilizationPercentage: 50 },
  },
};

describe('loops read the cache, not etcd lists', { timeout: 60_000 }, () => {
  const fixture = useEtcdFixture();
  const ranges: IRangeRequest[] = [];
  let leases: NodeLeases;

  after(() => leases?.close());

  before(() => {
    leases = new NodeLeases(fixture.etcd.client, 30);
    // Every range request of the client the loops and the cache share goes through here.
    const kv = fixture.etcd.client.kv as unknown as { range(req: IRangeRequest): Promise<IRangeResponse> };
    const original = kv.range.bind(kv);
    kv.range = (req: IRangeRequest) => {
      ranges.push(req);
      return original(req);
    };
  });

  const multiKey = () => ranges.filter((r) => r.range_end && r.range_end.length > 0);
  /** The one kind of multi-key read a pass may make: one Service's revisions (not cached), in pages. */
  const revisionsOfWeb = (r: IRangeRequest) => r.key?.toString() === '/tide/v1/revisions/default/web-' && Number(r.limit) > 0 && Number(r.limit) <= DEFAULT_PAGE_SIZE;

  async function seed(): Promise<void> {
    const { store } = fixture;
    for (const name of ['n1', 'n2', 'n3']) {
      await leases.grant(name);
      await store.create<Node>({
        apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1' },
        status: { ready: true, capacity: { cpu: 4000, memory: 8 * GI }, allocatable: { cpu: 4000, memory: 8 * GI } },
      });
    }
    const service = await store.create(web);
    const hash = templateHash(replicaTemplate(service));
    for (let i = 0; i < 4; i++) {
      await store.create<Replica>({
        apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: `web-${i}`, namespace: 'default' },
        spec: { service: 'web', templateHash: hash, template: replicaTemplate(service), nodeName: i < 2 ? 'n1' : 'n2' },
        status: { phase: 'Running', ready: true, restartCount: 0, ip: `100.64.0.${i + 2}` },
      });
    }
    await store.mutate<Node>('Node', 'default', 'n1', (n) => ({ ...n, spec: { ...n.spec, cordoned: true, drain: { reason: 'Drain', startedAt: new Date().toISOString() } } }));
  }

  it('runs every loop pass, the publisher and a scrape without one multi-key etcd read', async () => {
    const { store, cache } = fixture;
    await seed();
    await cache.fresh();
    ranges.length = 0;
    const events = new EventRecorder(store, 'test');
    const metrics = new ControlPlaneMetrics();
    const load = { cpuCores: () => 0.04, cpuCounter: () => undefined, requestRate: () => undefined };
    const autoscaler = new AutoscalerController(store, events, load, new AutoscalerMetrics(metrics), cache);
    await new ServiceController(store, events, cache).sync();
    await new SchedulerLoop(store, cache, events, metrics).cycle();
    await new NodeLifecycleController(store, events, { seconds: 30, agentDownSeconds: 30 }, cache).sync();
    await new DrainController(store, events, cache).sync();
    await new ConsolidationController(store, events, { enabled: true, delaySeconds: 0 }, cache).sync();
    await autoscaler.sync();
    const publisher = new EndpointsPublisher(cache);
    const pushed: { ports: { endpoints: unknown[] }[] }[] = [];
    await publisher.start();
    publisher.watch({ on: () => undefined, end: () => undefined, write: (message: never) => pushed.push(message) } as never);
    for (let i = 0; i < 100 && pushed.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await publisher.close();
    registerServiceReplicaGauges(metrics, cache);
    const scrape = await metrics.registry.metrics();

    assert.deepEqual(multiKey().filter((r) => !revisionsOfWeb(r)).map((r) => `${r.key?.toString()}..${r.range_end?.toString()}`), [],
      'no read spans more than one key, but for one service\'s revisions, in pages');
    assert.ok(ranges.length > 0, 'the recorder saw the reads (single keys: fresh(), mutate)');
    await cache.fresh();
    const moves = cache.list('Replica').filter((r) => r.spec.replaces?.fromNode === 'n1');
    assert.equal(moves.length, 2, 'the drain pass started a move for each replica on n1');
    assert.equal(pushed[0]?.ports[0]?.endpoints.length, 4, `the publisher sees the ready replicas (a cordoned node still serves): ${JSON.stringify(pushed[0])}`);
    assert.match(scrape, /tide_service_desired_replicas\{namespace="default",service="web"\} 4/);
    assert.match(scrape, /tide_service_ready_replicas\{namespace="default",service="web"\} 4/);
  });
});
