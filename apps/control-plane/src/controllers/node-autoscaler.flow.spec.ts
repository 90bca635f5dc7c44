/**
 * The node autoscaler's loop on a real etcd with the real service controller and scheduler, over the
 * in-memory NodeProvider; a node it makes "registers" (a Ready Node object, as its agent would) when
 * the test says so, and the clock is the test's. What a user would notice: one node for the replica
 * that found no room (not one per pass), the replica placed there, the node handed back once empty
 * for the delay and not before, and the Events saying why.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, Service, TideEvent } from '@tide/api';
import { NodePool } from '@tide/control';
import { InMemoryNodeProvider } from '@tide/control/testing';
import { ObjectStore } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { ControlPlaneMetrics } from '../metrics';
import { EventRecorder } from './events.recorder';
import { NodeAutoscalerController } from './node-autoscaler.controller';
import { SchedulerLoop } from './scheduler.loop';
import { ServiceController } from './service.controller';

const GI = 2 ** 30;
const POOL: NodePool = { name: 'burst', template: { cpu: 1000, memory: 4 * GI, labels: {} }, minNodes: 0, maxNodes: 3 };
const DELAY_S = 60;

describe('node autoscaler on a real etcd', { timeout: 300_000 }, () => {
  const fixture = useEtcdFixture();
  let store: ObjectStore;
  before(() => void (store = fixture.store));

  const addNode = (name: string, cpu = 1000) => store.create<Node>({
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default', labels: { 'tide.io/pool': POOL.name } }, spec: { address: '127.0.0.1' },
    status: { ready: true, capacity: { cpu, memory: 4 * GI }, allocatable: { cpu, memory: 4 * GI } },
  });
  const replicas = async () => (await store.list<Replica>('Replica')).items;
  const events = async (reason: string) => (await store.list<TideEvent>('Event')).items.filter((e) => e.spec.reason === reason);

  it('adds one node for a replica that finds no room, places it there, and hands the node back once empty for the delay', async () => {
    let now = 1_000_000;
    const provider = new InMemoryNodeProvider(() => now);
    const revoked: string[] = [];
    const recorder = new EventRecorder(store, 'test');
    const services = new ServiceController(store, recorder, fixture.cache);
    const scheduler = new SchedulerLoop(store, fixture.cache, recorder, new ControlPlaneMetrics());
    const nodes = new NodeAutoscalerController(store, recorder, fixture.cache, provider, { pool: POOL, scaleDownDelaySeconds: DELAY_S, leadSeconds: 60 },
      async (node) => revoked.push(node), undefined, () => now);
    const pass = async () => {
      await services.sync();
      await scheduler.cycle();
      await nodes.sync();
    };
    await addNode('n1');
    await store.create<Service>({
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 3, image: 'busybox', resources: { requests: { cpu: '400m', memory: '64Mi' } } },
    });
    // 3 × 400m: two fit on n1 (1000m), the third waits for room and the node autoscaler asks for one node.
    for (let i = 0; i < 5 && (await provider.list()).length === 0; i++) await pass();
    const made = await provider.list(POOL.name);
    assert.equal(made.length, 1);
    // Passes while it boots add nothing for the same replica.
    for (let i = 0; i < 3; i++) await pass();
    assert.equal((await provider.list()).length, 1, 'the booting node is counted as coming');
    // What the autoscaler's node-aware scale-in asks: the pool's node goes back once empty (min 0), n1 is not the pool's.
    assert.deepEqual([nodes.handsBack(made[0].name), nodes.handsBack('n1')], [true, false]);
    const up = (await events('NodeScaleUp')).find((e) => e.spec.involvedObject.name === made[0].name);
    assert.match(up?.spec.message ?? '', /^1 replica\(s\) pending for lack of room \(default\/web ×1\): 1 new node\(s\) of pool burst/);

    await addNode(made[0].name); // its agent registers
    for (let i = 0; i < 5 && !(await replicas()).some((r) => r.spec.nodeName === made[0].name); i++) await pass();
    assert.ok((await replicas()).some((r) => r.spec.nodeName === made[0].name), 'the waiting replica runs on the new node');

    // Scaled in: the newest replica (on the new node) goes, the node is empty; handed back only after the delay.
    await store.mutate<Service>('Service', 'default', 'web', (s) => ((s.spec.replicas = 2), s));
    for (let i = 0; i < 5 && (await replicas()).some((r) => r.spec.nodeName === made[0].name); i++) {
      await pass();
      for (const r of (await replicas()).filter((x) => x.metadata.deletionTimestamp)) await store.delete('Replica', 'default', r.metadata.name);
    }
    await pass();
    now += (DELAY_S - 1) * 1000;
    await pass();
    assert.equal((await provider.list()).length, 1, 'kept before the delay');
    now += 2000;
    await pass();
    assert.deepEqual(await provider.list(), []);
    assert.deepEqual(revoked, [made[0].name]);
    assert.equal(await store.get<Node>('Node', 'default', made[0].name), undefined, 'the Node is removed');
    assert.ok(await store.get<Node>('Node', 'default', 'n1'), 'a node the provider did not make stays');
    const down = (await events('NodeScaleDown')).find((e) => e.spec.involvedObject.name === made[0].name);
    assert.match(down?.spec.message ?? '', /^empty for 1m01s \(at least 1m00s\): handed back to pool burst, which keeps 0 node\(s\) \(min 0\)/);
  });

  it('boots the nodes a scheduled floor needs a lead time before it fires, and keeps them empty until it does', async () => {
    // 08:58:30 UTC: the sale's floor of 4 fires at 09:00, within the 120 s lead; 1 replica runs now.
    let now = Date.parse('2026-03-02T08:58:30Z');
    const provider = new InMemoryNodeProvider(() => now);
    const recorder = new EventRecorder(store, 'test');
    const nodes = new NodeAutoscalerController(store, recorder, fixture.cache, provider, { pool: POOL, scaleDownDelaySeconds: 0, leadSeconds: 120 },
      async () => undefined, undefined, () => now);
    await addNode('m1');
    await store.create<Service>({
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'sale', namespace: 'default' },
      spec: {
        replicas: 1, image: 'busybox', resources: { requests: { cpu: '1', memory: '64Mi' } },
        autoscale: { minReplicas: 1, maxReplicas: 4, targetRequestsPerSecond: 10, schedules: [{ name: 'sale', cron: '0 9 * * *', minReplicas: 4, durationSeconds: 600 }] },
      },
    });
    await store.create<Replica>({
      apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'sale-1', namespace: 'default' },
      spec: { service: 'sale', templateHash: 'x', template: { image: 'busybox', requests: { cpuMillis: 1000, memoryBytes: 64 * 2 ** 20 } }, nodeName: 'm1' } as Replica['spec'],
      status: { phase: 'Running', ready: true, restartCount: 0 },
    });
    await fixture.cache.fresh();
    await nodes.sync();
    // m1 (1 CPU) is full: 3 more replicas of 1 CPU expected, one new node of 1 CPU each (the pool's max is 3).
    const made = await provider.list(POOL.name);
    assert.equal(made.length, 3, 'three nodes made ahead of the floor');
    const up = (await events('NodeScaleUp')).find((e) => made.some((m) => m.name === e.spec.involvedObject.name) && /expected ahead/.test(e.spec.message));
    assert.match(up?.spec.message ?? '', /^3 expected ahead \(sale: schedule sale\) \(default\/sale ×3\): 3 new node\(s\) of pool burst/);
    // They register, empty: with a scale-down delay of 0 they would go at once, but the floor is still ahead.
    for (const m of made) await addNode(m.name);
    now += 30_000;
    await fixture.cache.fresh();
    await nodes.sync();
    assert.equal((await provider.list(POOL.name)).length, 3, 'kept for the replicas expected at 09:00');
  });
});
