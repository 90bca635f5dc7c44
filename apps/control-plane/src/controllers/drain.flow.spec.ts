/**
 * Drain and consolidation through the real controllers on a real etcd, with a stand-in agent that
 * takes two steps to make a placed replica ready and confirms stops. After every controller step
 * the test checks what a user would notice: never fewer ready replicas than before the move.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, Service, TideEvent } from '@tide/api';
import { drainProgress, newReplica } from '@tide/control';
import { ClusterCache, ObjectStore } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { ControlPlaneMetrics } from '../metrics';
import { ConsolidationController } from './consolidation.controller';
import { DrainController } from './drain.controller';
import { EventRecorder } from './events.recorder';
import { SchedulerLoop } from './scheduler.loop';
import { ServiceController } from './service.controller';

const GI = 2 ** 30;
/** How long a flow may take to converge before the test says it does not. */
const CONVERGE_MS = 120_000;
/** The controllers read the cluster through one cache, as in the control plane (started below). */
let cache: ClusterCache;

/** One leader's loops; a new instance is what a restarted control plane starts with. */
class Loops {
  readonly services: ServiceController;
  readonly scheduler: SchedulerLoop;
  readonly drains: DrainController;
  readonly consolidation: ConsolidationController;

  constructor(store: ObjectStore, consolidation = true) {
    const events = new EventRecorder(store, 'test');
    this.services = new ServiceController(store, events, cache);
    this.scheduler = new SchedulerLoop(store, cache, events, new ControlPlaneMetrics());
    this.drains = new DrainController(store, events, cache);
    this.consolidation = new ConsolidationController(store, events, { enabled: consolidation, delaySeconds: 0 }, cache);
  }

  steps(): (() => Promise<void>)[] {
    return [() => this.services.sync(), () => this.scheduler.cycle(), () => this.drains.sync(), () => this.consolidation.sync()];
  }
}

/** The agent's part: placed → Starting → Running and ready; a terminating replica is confirmed gone. */
async function agentStep(store: ObjectStore): Promise<void> {
  for (const r of (await store.list<Replica>('Replica')).items) {
    if (r.metadata.deletionTimestamp) {
      await store.delete('Replica', r.metadata.namespace, r.metadata.name);
    } else if (r.spec.nodeName && (r.status?.phase === 'Scheduled' || r.status?.phase === 'Starting')) {
      const next = r.status.phase === 'Scheduled' ? 'Starting' : 'Running';
      await store.mutate<Replica>('Replica', r.metadata.namespace, r.metadata.name, (x) => ({ ...x, status: { ...x.status!, phase: next, ready: next === 'Running' } }));
    }
  }
}

describe('drain and consolidation on a real etcd', { timeout: 900_000 }, () => {
  const fixture = useEtcdFixture();
  let store: ObjectStore;

  before(() => {
    store = fixture.store;
    cache = fixture.cache;
  });

  const addNode = (name: string, cpu = 1000) => store.create<Node>({
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1' },
    status: { ready: true, capacity: { cpu, memory: 4 * GI }, allocatable: { cpu, memory: 4 * GI } },
  });
  const addService = (name: string, replicas: number, cpu: number) => store.create<Service>({
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { replicas, image: 'busybox', resources: { requests: { cpu: `${cpu}m`, memory: '64Mi' } } },
  });
  /** A Running, ready replica of `service` on `node`, as if it had been there for a while. */
  const place = async (service: Service, node: string) => {
    const r = newReplica(service);
    r.spec.nodeName = node;
    r.status = { phase: 'Running', ready: true, restartCount: 0 };
    await store.create(r);
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const replicas = async () => (await store.list<Replica>('Replica')).items;
  const ready = async (service: string) => (await replicas()).filter((r) => r.spec.service === service && r.status?.ready && !r.metadata.deletionTimestamp).length;
  const onNode = async (node: string) => (await replicas()).filter((r) => r.spec.nodeName === node);
  const setNode = (name: string, edit: (n: Node) => void) => store.mutate<Node>('Node', 'default', name, (n) => (edit(n), n));
  const events = async (reason: string) => (await store.list<TideEvent>('Event')).items.filter((e) => e.spec.reason === reason);

  /**
   * Runs every loop and the agent until `done`; after each single step, no watched service may have
   * fewer ready replicas than its floor. Returns the names of every replica seen.
   */
  async function converge(loops: () => Loops, done: () => Promise<boolean>, floors: Record<string, number> = {}): Promise<Set<string>> {
    const seen = new Set<string>();
    // Rounds until done, however many a loaded machine needs (the cache may lag a round behind).
    const deadline = performance.now() + CONVERGE_MS;
    for (let round = 0; performance.now() < deadline; round++) {
      for (const step of [...loops().steps(), () => agentStep(store)]) {
        await step();
        for (const r of await replicas()) seen.add(r.metadata.name);
        for (const [service, floor] of Object.entries(floors)) {
          assert.ok((await ready(service)) >= floor, `round ${round}: ${service} has ${await ready(service)} ready replicas, fewer than ${floor}`);
        }
      }
      if (await done()) return seen;
    }
    throw new Error(`did not converge: ${JSON.stringify((await replicas()).map((r) => [r.metadata.name, r.spec.nodeName, r.status?.phase]))}`);
  }

  it('drains a node surge first, without a moment of fewer ready replicas, and survives a restart mid-move', async () => {
    await addNode('n1');
    await addNode('n2');
    await addService('web', 2, 100);
    let loops = new Loops(store, false);
    await converge(() => loops, async () => (await ready('web')) === 2);
    const drained = (await replicas())[0].spec.nodeName!;
    const before = (await onNode(drained)).map((r) => r.metadata.name);
    await setNode(drained, (n) => { n.spec.cordoned = true; n.spec.drain = { reason: 'Drain', startedAt: new Date().toISOString() }; });
    // One round starts the move; then a "restarted" control plane (fresh controllers) carries on from etcd.
    for (const step of loops.steps()) await step();
    loops = new Loops(store, false);
    const seen = await converge(() => loops, async () => drainProgress((await store.get<Node>('Node', 'default', drained))!, await replicas()).empty
      && !(await store.get<Node>('Node', 'default', drained))!.spec.drain, { web: 2 });
    assert.deepEqual(await onNode(drained), [], 'the node is empty');
    assert.equal((await store.get<Node>('Node', 'default', drained))!.spec.cordoned, true, 'a drained node stays cordoned');
    assert.equal(await ready('web'), 2);
    assert.equal(seen.size, 2 + before.length, 'one replacement per moved replica: never a double move');
    assert.equal((await events('Moved')).length, before.length);
    assert.equal((await events('Drained')).length, 1);
    const told = drainProgress((await store.get<Node>('Node', 'default', drained))!, await replicas()).moved;
    assert.deepEqual(told.map((m) => m.replica).sort(), [...before].sort(), 'the progress tells where each replica went');
    assert.ok(told.every((m) => m.node !== drained));
  });

  it('respects a scale-in during the move and ends with no stray replacement', async () => {
    await addNode('n1');
    await addNode('n2');
    await addService('web', 2, 100);
    const loops = new Loops(store, false);
    await converge(() => loops, async () => (await ready('web')) === 2);
    await setNode('n1', (n) => { n.spec.cordoned = true; n.spec.drain = { reason: 'Drain', startedAt: new Date().toISOString() }; });
    await loops.drains.sync();
    await store.mutate<Service>('Service', 'default', 'web', (s) => ({ ...s, spec: { ...s.spec, replicas: 1 } }));
    await converge(() => loops, async () => (await replicas()).length === 1 && (await ready('web')) === 1 && (await onNode('n1')).length === 0);
    assert.equal((await replicas())[0].spec.nodeName, 'n2');
  });

  it('reports a replica no other node can take, and withdraws its replacement when the drain is cancelled', async () => {
    await addNode('n1');
    await addNode('n2', 500);
    await addService('big', 1, 800);
    const loops = new Loops(store, false);
    await converge(() => loops, async () => (await ready('big')) === 1);
    assert.equal((await replicas())[0].spec.nodeName, 'n1');
    await setNode('n1', (n) => { n.spec.cordoned = true; n.spec.drain = { reason: 'Drain', startedAt: new Date().toISOString() }; });
    for (let i = 0; i < 3; i++) for (const step of loops.steps()) await step();
    const progress = drainProgress((await store.get<Node>('Node', 'default', 'n1'))!, await replicas());
    assert.equal(progress.empty, false);
    assert.equal(progress.remaining[0].stuck, true);
    assert.match(progress.remaining[0].message, /stuck: no other node can take its replacement .*0\/2 nodes available: 1 cordoned, 1 insufficient cpu/);
    await setNode('n1', (n) => { delete n.spec.drain; });
    await loops.drains.sync();
    assert.deepEqual((await replicas()).map((r) => r.spec.nodeName), ['n1'], 'the replacement is gone, the replica stays');
  });

  it('consolidates after a scale-in: a node becomes empty while both services stay ready', async () => {
    await addNode('n1');
    await addNode('n2');
    // 400m each. n1: a + b (800m), n2: a (400m): neither node's replicas fit on the other.
    const a = await addService('a', 2, 400);
    const b = await addService('b', 1, 400);
    await place(a, 'n2');
    await place(b, 'n1');
    await place(a, 'n1'); // the newest: the scale-in takes it, leaving b on n1 and a on n2
    const loops = new Loops(store, true);
    let rounds = 0;
    await converge(() => loops, async () => ++rounds >= 5);
    assert.equal((await events('Consolidating')).length, 0, 'nothing to consolidate before the scale-in');
    await store.mutate<Service>('Service', 'default', 'a', (s) => ({ ...s, spec: { ...s.spec, replicas: 1 } }));
    const used = async () => new Set((await replicas()).map((r) => r.spec.nodeName)).size;
    await converge(() => loops, async () => (await used()) === 1 && (await replicas()).length === 2
      && !(await store.list<Node>('Node')).items.some((n) => n.spec.drain), { a: 1, b: 1 });
    assert.equal((await events('Consolidating')).length, 1);
    assert.equal((await events('Consolidated')).length, 1);
    assert.equal((await events('Moved')).length, 1, 'one replica moved, and recorded');
  });

  it('does not consolidate when turned off, and stops a consolidation under way', async () => {
    await addNode('n1');
    await addNode('n2');
    await place(await addService('a', 1, 400), 'n1');
    await place(await addService('b', 1, 400), 'n2');
    let rounds = 0;
    await converge(() => new Loops(store, false), async () => ++rounds >= 5);
    assert.equal((await events('Consolidating')).length, 0);
    await setNode('n2', (n) => { n.spec.drain = { reason: 'Consolidation', startedAt: new Date().toISOString() }; });
    await new Loops(store, false).consolidation.sync();
    assert.equal((await store.list<Node>('Node')).items.some((n) => n.spec.drain), false);
    assert.match((await events('ConsolidationCancelled'))[0].spec.message, /turned off/);
  });
});
