/**
 * Rolling updates through the real service controller and scheduler on a real etcd, with a
 * stand-in agent: a placed replica starts, then runs and is ready (unless its image is
 * "web:broken", whose readiness probe never passes); a terminating one is confirmed gone. After
 * every single step the test checks what a user would notice: never fewer ready replicas than
 * desired - maxUnavailable, never more live replicas than desired + maxSurge.
 */
import { before, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, Service, ServiceRevision, TideEvent, UpdateStrategy, rolloutLimits, specWithTemplate } from '@tide/api';
import { ClusterCache, ObjectStore } from '@tide/store';
import { useEtcdFixture } from '../testing/etcd.fixture';
import { ControlPlaneMetrics } from '../metrics';
import { EventRecorder } from './events.recorder';
import { listRevisions } from './revision.history';
import { SchedulerLoop } from './scheduler.loop';
import { ServiceController } from './service.controller';

const GI = 2 ** 30;
/** How long a flow may take to converge before the test says it does not. */
const CONVERGE_MS = 120_000;
const BROKEN = 'web:broken';
const PROBE_FAILURE = 'readiness probe failed: HTTP GET /healthz: 503';
let cache: ClusterCache;

/** One leader's loops; a new instance is what a restarted control plane starts with. */
function loops(store: ObjectStore): (() => Promise<void>)[] {
  const events = new EventRecorder(store, 'test');
  const services = new ServiceController(store, events, cache);
  const scheduler = new SchedulerLoop(store, cache, events, new ControlPlaneMetrics());
  return [() => services.sync(), () => scheduler.cycle()];
}

async function agentStep(store: ObjectStore): Promise<void> {
  for (const r of (await store.list<Replica>('Replica')).items) {
    if (r.metadata.deletionTimestamp) {
      await store.delete('Replica', r.metadata.namespace, r.metadata.name);
    } else if (r.spec.nodeName && (r.status?.phase === 'Scheduled' || r.status?.phase === 'Starting')) {
      const next = r.status.phase === 'Scheduled' ? 'Starting' : 'Running';
      const ready = next === 'Running' && r.spec.template.image !== BROKEN;
      const message = next === 'Running' && !ready ? PROBE_FAILURE : undefined;
      await store.mutate<Replica>('Replica', r.metadata.namespace, r.metadata.name, (x) => ({ ...x, status: { ...x.status!, phase: next, ready, ...(message ? { message } : {}) } }));
    }
  }
}

describe('rolling updates on a real etcd', { timeout: 900_000 }, () => {
  const fixture = useEtcdFixture();
  let store: ObjectStore;

  before(() => {
    store = fixture.store;
    cache = fixture.cache;
  });
  beforeEach(async () => {
    for (const name of ['n1', 'n2']) {
      await store.create<Node>({
        apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '127.0.0.1' },
        status: { ready: true, capacity: { cpu: 2000, memory: 4 * GI }, allocatable: { cpu: 2000, memory: 4 * GI } },
      });
    }
  });

  const service = () => store.get<Service>('Service', 'default', 'web').then((s) => s!);
  const setSpec = (edit: (s: Service) => void) => store.mutate<Service>('Service', 'default', 'web', (s) => (edit(s), s));
  const live = async () => (await store.list<Replica>('Replica')).items.filter((r) => !r.metadata.deletionTimestamp);
  const ready = async (image?: string) => (await live()).filter((r) => r.status?.ready && (!image || r.spec.template.image === image)).length;
  const events = async (reason: string) => (await store.list<TideEvent>('Event')).items.filter((e) => e.spec.reason === reason);

  /**
   * Runs the loops and the agent until `done`, checking the rollout's bounds after every step. `floor`
   * and `ceiling` are fixed for the whole run (a scale change moves them; the test says how).
   */
  async function converge(steps: () => (() => Promise<void>)[], done: () => Promise<boolean>, bounds?: { floor: number; ceiling: number }, pauseMs = 0) {
    let peak = 0;
    // Rounds until done, however many a loaded machine needs (the cache may lag a round behind).
    const deadline = performance.now() + CONVERGE_MS;
    for (let round = 0; performance.now() < deadline; round++) {
      for (const step of [...steps(), () => agentStep(store)]) {
        await step();
        const replicas = await live();
        peak = Math.max(peak, replicas.length);
        if (!bounds) continue;
        assert.ok(replicas.length <= bounds.ceiling, `round ${round}: ${replicas.length} live replicas, more than ${bounds.ceiling}`);
        assert.ok((await ready()) >= bounds.floor, `round ${round}: ${await ready()} ready replicas, fewer than ${bounds.floor}`);
      }
      if (await done()) return peak;
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    throw new Error(`did not converge: ${JSON.stringify((await live()).map((r) => [r.metadata.name, r.spec.template.image, r.status?.phase, r.status?.ready]))}`);
  }

  async function start(update?: UpdateStrategy): Promise<(() => Promise<void>)[]> {
    await store.create<Service>({
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 4, image: 'web:1', resources: { requests: { cpu: '100m', memory: '64Mi' } }, ...(update ? { update } : {}) },
    });
    const steps = loops(store);
    await converge(() => steps, async () => (await ready('web:1')) === 4 && (await service()).status?.conditions?.[0].reason === 'NewReplicasAvailable');
    return steps;
  }

  const rolledOut = (image: string) => async () => {
    const s = await service();
    return (await ready(image)) === s.spec.replicas && (await live()).length === s.spec.replicas && s.status?.conditions?.[0].reason === 'NewReplicasAvailable';
  };

  it('rolls 4 replicas to a new template within the defaults (surge 1, none unavailable) across a control-plane restart', async () => {
    let steps = await start();
    await setSpec((s) => { s.spec.env = { VERSION: '2' }; s.spec.image = 'web:2'; });
    for (const step of steps) await step(); // the first move starts; then a "restarted" control plane carries on from etcd
    steps = loops(store);
    const { maxSurge, maxUnavailable } = rolloutLimits(undefined, 4);
    const peak = await converge(() => steps, rolledOut('web:2'), { floor: 4 - maxUnavailable, ceiling: 4 + maxSurge });
    assert.equal(peak, 5, 'the surge was used');
    const s = await service();
    assert.deepEqual([s.status?.revision, s.status?.updatedReplicas, s.status?.updatedReadyReplicas, s.status?.oldReplicas], [2, 4, 4, 0]);
    assert.deepEqual((await listRevisions(store, 'default', 'web')).map((r) => [r.spec.revision, r.spec.template.image]), [[1, 'web:1'], [2, 'web:2']]);
    assert.equal((await events('Moved')).length, 4, 'each old replica went once its replacement was ready');
    assert.match((await events('RolledOut')).pop()!.spec.message, /^revision 2 rolled out: 4 of 4 replica\(s\) updated and ready/);
  });

  it('keeps desired - maxUnavailable ready with surge 2 / unavailable 1, and honours a scale-out mid-rollout', async () => {
    const update = { maxSurge: 2, maxUnavailable: 1 };
    const steps = await start(update);
    await setSpec((s) => { s.spec.image = 'web:2'; });
    for (const step of steps) await step();
    // 4 wanted: at least 4 - 1 ready, at most 4 + 2. Scaled to 6: the ceiling becomes 6 + 2, the floor stays 3 until the new ones run.
    await converge(() => steps, async () => (await live()).some((r) => r.spec.template.image === 'web:2' && r.status?.ready), { floor: 3, ceiling: 6 });
    await setSpec((s) => { s.spec.replicas = 6; });
    await converge(() => steps, rolledOut('web:2'), { floor: 3, ceiling: 6 + rolloutLimits(update, 6).maxSurge });
    assert.equal(await ready('web:2'), 6);
  });

  it('stops a rollout whose replicas never get ready, says why, keeps the old ones serving, then undoes it', async () => {
    const steps = await start({ progressDeadlineSeconds: 1 });
    await setSpec((s) => { s.spec.image = BROKEN; });
    const stuck = async () => (await service()).status?.conditions?.[0].reason === 'ProgressDeadlineExceeded';
    await converge(() => steps, stuck, { floor: 4, ceiling: 5 }, 100);
    const condition = (await service()).status!.conditions![0];
    assert.equal(condition.status, 'False');
    assert.match(condition.message, new RegExp(`^revision 2 made no progress for 1s \\(1 of 4 updated, 0 ready, 4 old replica\\(s\\) still serving\\): replica web-\\w+-\\w+ not ready: ${PROBE_FAILURE}`));
    assert.equal((await events('ProgressDeadlineExceeded'))[0].spec.message, condition.message);
    assert.equal(await ready('web:1'), 4, 'every old replica still serves');
    assert.equal((await events('Moved')).length, 0, 'none was replaced');

    // The undo: revision 1's template again (what POST .../rollback writes). It becomes revision 3.
    const [first] = await listRevisions(store, 'default', 'web');
    await setSpec((s) => { s.spec = specWithTemplate(s.spec, first.spec.template); });
    await converge(() => steps, rolledOut('web:1'), { floor: 4, ceiling: 5 });
    assert.deepEqual((await live()).filter((r) => r.spec.template.image === BROKEN), [], 'the broken replacement is withdrawn');
    const revisions: ServiceRevision[] = await listRevisions(store, 'default', 'web');
    assert.deepEqual(revisions.map((r) => [r.spec.revision, r.spec.template.image]), [[2, BROKEN], [3, 'web:1']]);
    assert.equal((await service()).status?.revision, 3);
  });

  it('keeps the last 10 revisions', async () => {
    const steps = await start({ maxSurge: '100%' });
    for (let version = 2; version <= 12; version++) {
      await setSpec((s) => { s.spec.image = `web:${version}`; });
      await converge(() => steps, rolledOut(`web:${version}`));
    }
    assert.deepEqual((await listRevisions(store, 'default', 'web')).map((r) => r.spec.revision), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});
