/**
 * Two control planes' schedulers racing over one real etcd, without leader election: each has its
 * own etcd client and cache, both decide from the same snapshot (a barrier holds each one after
 * placement until the other has placed too), then both commit. No node may end with committed
 * requests beyond its allocatable, and every replica must end bound exactly once.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { API_VERSION, Node, Replica, Service, TideEvent, replicaTemplate, templateHash } from '@tide/api';
import { ClusterCache, Etcd3, ObjectStore } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/testing';
import { ControlPlaneMetrics } from '../metrics';
import { EventRecorder } from './events.recorder';
import { SchedulerLoop, SchedulerLoopOptions } from './scheduler.loop';

const GiB = 2 ** 30;

function node(name: string): Node {
  return {
    apiVersion: API_VERSION, kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1' },
    status: { ready: true, capacity: { cpu: 1100, memory: 2 * GiB }, allocatable: { cpu: 1000, memory: GiB } },
  };
}

/** 300m and 100Mi each: three fit a node (900m), a fourth does not (1200m > 1000m). */
function replicas(service: string, count: number): Replica[] {
  const spec: Service = {
    apiVersion: API_VERSION, kind: 'Service', metadata: { name: service, namespace: 'default' },
    spec: { replicas: count, image: 'busybox', resources: { requests: { cpu: '300m', memory: '100Mi' } }, placement: { maxSkew: count } },
  };
  const template = replicaTemplate(spec);
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: API_VERSION, kind: 'Replica', metadata: { name: `${service}-${i}`, namespace: 'default' },
    spec: { service, templateHash: templateHash(template), template }, status: { phase: 'Pending', ready: false, restartCount: 0 },
  }));
}

/** Resolves for everyone once `parties` callers wait on it; later rounds pass straight through. */
function barrier(parties: number): (round: number) => Promise<void> {
  let waiting: (() => void)[] = [];
  return (round) => {
    if (round > 0) return Promise.resolve();
    return new Promise((resolve) => {
      waiting.push(resolve);
      if (waiting.length === parties) {
        waiting.forEach((release) => release());
        waiting = [];
      }
    });
  };
}

interface Racer {
  loop: SchedulerLoop;
  metrics: ControlPlaneMetrics;
  cache: ClusterCache;
  client: Etcd3;
}

describe('schedulers of two control planes racing', { timeout: 300_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  const racers: Racer[] = [];

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
  });
  after(async () => {
    for (const racer of racers) {
      await racer.cache.stop();
      racer.client.close();
    }
    await etcd?.stop();
  });

  async function racer(options: SchedulerLoopOptions): Promise<Racer> {
    const client = etcd.connect();
    const cache = new ClusterCache(client);
    await cache.start();
    const metrics = new ControlPlaneMetrics();
    const ownStore = new ObjectStore(client);
    const racer = { loop: new SchedulerLoop(ownStore, cache, new EventRecorder(ownStore, 'race'), metrics, options), metrics, cache, client };
    racers.push(racer);
    return racer;
  }

  async function conflicts(racer: Racer): Promise<number> {
    const metric = await racer.metrics.schedulingAttempts.get();
    return metric.values.filter((v) => v.labels.result === 'conflict').reduce((sum, v) => sum + v.value, 0);
  }

  /** Both caches at the same revision, then one cycle each, concurrently, meeting at the barrier. */
  async function race(one: Racer, two: Racer): Promise<void> {
    const revision = Number((await etcd.client.get('/tide/none').exec()).header.revision);
    await Promise.all([one.cache.waitFor(revision, 60_000), two.cache.waitFor(revision, 60_000)]);
    await Promise.all([one.loop.cycle(), two.loop.cycle()]);
  }

  async function assertNoOvercommit(prefix: string): Promise<Replica[]> {
    const all = (await store.list<Replica>('Replica')).items.filter((r) => r.metadata.name.startsWith(prefix));
    const nodes = (await store.list<Node>('Node')).items;
    for (const n of nodes) {
      const bound = all.filter((r) => r.spec.nodeName === n.metadata.name);
      const cpu = bound.reduce((sum, r) => sum + r.spec.template.requests.cpuMillis, 0);
      const memory = bound.reduce((sum, r) => sum + r.spec.template.requests.memoryBytes, 0);
      assert.ok(cpu <= n.status!.allocatable.cpu, `${n.metadata.name}: ${cpu}m committed of ${n.status!.allocatable.cpu}m`);
      assert.ok(memory <= n.status!.allocatable.memory, `${n.metadata.name}: memory overcommitted`);
    }
    return all;
  }

  it('two schedulers binding different replicas onto the same nodes: the second is refused and re-places', async () => {
    for (const name of ['n1', 'n2', 'n3', 'n4']) await store.create(node(name));
    for (const r of [...replicas('a', 6), ...replicas('b', 6)]) await store.create(r);
    const meet = barrier(2);
    // Each control plane places one service, from the same snapshot: both want n1 and n2 filled.
    const one = await racer({ beforeCommit: meet, select: (r) => r.spec.service === 'a' });
    const two = await racer({ beforeCommit: meet, select: (r) => r.spec.service === 'b' });
    await race(one, two);
    const all = await assertNoOvercommit('');
    assert.equal(all.filter((r) => r.spec.nodeName).length, 12, 'every replica bound (4 nodes × 3)');
    assert.ok(await conflicts(one) + await conflicts(two) > 0, 'the two schedulers did collide');
    const perNode = new Map<string, number>();
    for (const r of all) perNode.set(r.spec.nodeName!, (perNode.get(r.spec.nodeName!) ?? 0) + 1);
    assert.deepEqual([...perNode.values()], [3, 3, 3, 3]);
  });

  it('two schedulers placing the same pending replicas: each replica ends bound exactly once', async () => {
    for (const name of ['m1', 'm2', 'm3']) await store.create(node(name));
    for (const r of replicas('c', 9)) await store.create(r);
    const meet = barrier(2);
    const select = (r: Replica) => r.spec.service === 'c';
    const [one, two] = [await racer({ beforeCommit: meet, select }), await racer({ beforeCommit: meet, select })];
    await race(one, two);
    const all = await assertNoOvercommit('c-');
    assert.deepEqual(all.filter((r) => !r.spec.nodeName).map((r) => r.metadata.name), [], 'every replica bound');
    // The binding events say how often each replica was bound: once. A cycle writes its events before it ends.
    const events = (await store.list<TideEvent>('Event')).items
      .filter((e) => e.spec.reason === 'Scheduled' && e.spec.involvedObject.name.startsWith('c-'));
    assert.equal(events.length, 9, 'one Scheduled event per replica: no replica was bound twice');
    assert.ok(await conflicts(one) + await conflicts(two) > 0, 'the loser was refused, not silently overwriting');
  });
});
