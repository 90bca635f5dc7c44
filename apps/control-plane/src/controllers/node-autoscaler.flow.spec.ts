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
    const nodes = new NodeAutoscalerController(store, recorder, fixture.cache, provider, { pool: POOL, scaleDownDelaySeconds: DELAY_S },
      async (node) => revoked.push(node), () => now);
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
});
