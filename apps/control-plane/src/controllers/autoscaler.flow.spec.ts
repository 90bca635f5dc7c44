/**
 * The autoscaler controller on a real etcd with the real service controller and usage cache: the
 * agents' part is played by usage reports (cumulative CPU seconds, as agents push them) and by
 * marking placed replicas ready. The clock is injected, so windows are exact.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service, TideEvent, validateDocument } from '@tide/api';
import { ClusterCache, ObjectStore } from '@tide/store';
import { TestEtcd, startTestEtcd } from '@tide/store/testing';
import { applyDocuments } from '../api/apply.service';
import { ControlPlaneMetrics } from '../metrics';
import { AutoscalerMetrics } from '../monitoring/autoscaler.metrics';
import { UsageCache } from '../usage/usage.cache';
import { AutoscalerController } from './autoscaler.controller';
import { EventRecorder } from './events.recorder';
import { ServiceController } from './service.controller';

const MANIFEST = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'shop', namespace: 'auto' },
  spec: {
    image: 'node', resources: { requests: { cpu: '100m' } },
    autoscale: { minReplicas: 1, maxReplicas: 6, targetCPUUtilizationPercentage: 50, behavior: { scaleDown: { stabilizationWindowSeconds: 20 } } },
  },
};

describe('autoscaler controller on a real etcd', { timeout: 300_000 }, () => {
  let etcd: TestEtcd;
  let store: ObjectStore;
  let clock = 1_000_000;
  const usage = new UsageCache({ now: () => clock });
  const cpuSeconds = new Map<string, number>();
  const metrics = new ControlPlaneMetrics();
  const autoscalerMetrics = new AutoscalerMetrics(metrics);
  let events: EventRecorder;
  let services: ServiceController;
  let cache: ClusterCache;

  before(async () => {
    etcd = await startTestEtcd();
    store = new ObjectStore(etcd.client);
    cache = new ClusterCache(etcd.client);
    await cache.start();
    events = new EventRecorder(store, 'test');
    services = new ServiceController(store, events, cache);
  });
  after(async () => {
    await cache?.stop();
    await etcd?.stop();
  });

  /** The service controller reads the cache: let it catch up with every write so far. */
  async function servicesSync(): Promise<void> {
    await cache.waitFor(Number((await etcd.client.get('/tide/none').exec()).header.revision), 60_000);
    await services.sync();
  }

  const service = async () => (await store.get<Service>('Service', 'auto', 'shop'))!;
  const replicas = async () => (await store.list<Replica>('Replica', 'auto')).items.filter((r) => !r.metadata.deletionTimestamp);

  /** The agents: replicas become ready at once, terminating ones go; each ready one reports `coresEach` for the last second. */
  async function agentsReport(coresEach: number): Promise<void> {
    for (const r of (await store.list<Replica>('Replica', 'auto')).items) {
      if (r.metadata.deletionTimestamp) await store.delete('Replica', 'auto', r.metadata.name);
      else if (!r.status?.ready) await store.mutate<Replica>('Replica', 'auto', r.metadata.name, (x) => ({ ...x, status: { phase: 'Running', ready: true, restartCount: 0 } }));
    }
    const running = await replicas();
    for (const r of running) cpuSeconds.set(r.metadata.name, (cpuSeconds.get(r.metadata.name) ?? 0) + coresEach);
    usage.record({
      nodeName: 'node-1', timestampMs: clock, services: [],
      replicas: running.map((r) => ({ namespace: 'auto', name: r.metadata.name, cpuUsageSeconds: cpuSeconds.get(r.metadata.name)!, memoryWorkingSetBytes: 1, memoryUsageBytes: 1, startedAt: 's' })),
    });
  }

  /** One second of the cluster: agents report, the autoscaler decides, the service controller acts. */
  async function second(controller: AutoscalerController, coresEach: (replicas: number) => number): Promise<void> {
    clock += 1000;
    await agentsReport(coresEach((await replicas()).length));
    await controller.sync();
    await servicesSync();
  }

  it('panics to what the load needs, records why, keeps status; a new leader waits a whole down window before scaling in', async () => {
    await applyDocuments(store, [MANIFEST]);
    assert.equal((await service()).spec.replicas, 1, 'starts at minReplicas');
    const leader = new AutoscalerController(store, events, usage, autoscalerMetrics, cache, () => clock);
    await servicesSync();
    for (let i = 0; i < 3; i++) await second(leader, () => 0.05); // one replica at its 50% target
    assert.equal((await service()).spec.replicas, 1);

    // A spike: 0.5 cores on one replica of 0.1 requested (the rate since the previous sample) = 500%,
    // ten times the target → ceil(1 × 10) = 10, capped at maxReplicas 6.
    for (let i = 0; i < 2; i++) await second(leader, () => 0.5);
    assert.equal((await service()).spec.replicas, 6);
    assert.equal((await replicas()).length, 6, 'the service controller created the replicas');
    const [panic] = (await store.list<TideEvent>('Event', 'auto')).items.filter((e) => e.spec.reason === 'Panic');
    assert.match(panic.spec.message, /^1 → 6 replicas \(Panic\); cpu 500% of the request over 1 replica\(s\) \(target 50%\) → 10; panic until .*; held by maxReplicas \(6\); floor 1$/);
    const status = (await service()).status!;
    assert.equal(status.autoscale?.desiredReplicas, 6);
    assert.equal(status.autoscale?.lastDecisions.at(-1)?.reason, 'Panic');
    assert.equal(status.readyReplicas, 6, 'the service controller\'s own status fields are kept beside it');
    assert.match(await metrics.registry.getSingleMetricAsString('tide_autoscaler_desired_replicas'), /tide_autoscaler_desired_replicas\{namespace="auto",service="shop"\} 6/);

    // Re-applying the manifest keeps the autoscaler's count instead of resetting it to 1.
    assert.equal((await applyDocuments(store, [MANIFEST]))[0].action, 'unchanged');
    assert.equal((await service()).spec.replicas, 6);

    // The load falls to one replica's worth; a new leader takes over with no history.
    const next = new AutoscalerController(store, events, usage, autoscalerMetrics, cache, () => clock);
    const counts: number[] = [];
    for (let i = 0; i < 25; i++) {
      await second(next, (n) => 0.05 / n);
      counts.push((await service()).spec.replicas);
    }
    // Started at 6 with no history: held for its whole 20 s window. Then down to the 1 the load needs,
    // in steps: its first readings (2 s rates, 3 s means) still carried the spike, and those
    // recommendations leave the window one by one. Never up again on the way.
    assert.deepEqual(counts.slice(0, 19), new Array(19).fill(6), `held: ${counts.join(',')}`);
    assert.equal(counts.at(-1), 1, `scaled in after the window: ${counts.join(',')}`);
    assert.ok(counts.every((c, n) => n === 0 || c <= counts[n - 1]), `only down: ${counts.join(',')}`);
    const down = (await store.list<TideEvent>('Event', 'auto')).items.find((e) => e.spec.reason === 'ScaleDown')!;
    // 0.05 cores over 6 replicas of 0.1: 8% of the request → ceil(6 × 0.08 / 0.5) = 1.
    assert.match(down.spec.message, /^6 → [1-5] replicas \(ScaleDown\); cpu 8% of the request over 6 replica\(s\) \(target 50%\) → 1/);
  });

  it('the scale route and the autoscaler write spec.replicas the same way; a manual count is not overwritten mid-decision', async () => {
    const valid = validateDocument({ ...MANIFEST, metadata: { name: 'manual', namespace: 'auto' } }, 0);
    assert.ok(valid.ok);
    await store.create(valid.object);
    const controller = new AutoscalerController(store, events, usage, autoscalerMetrics, cache, () => clock);
    // A user scales to 3 between the read and the write: the guarded write refuses, the user's 3 stays.
    const { scaleService } = await import('./service.scale');
    await scaleService(store, 'auto', 'manual', 3);
    assert.equal(await scaleService(store, 'auto', 'manual', 5, (s) => s.spec.replicas === 1), undefined);
    assert.equal((await store.get<Service>('Service', 'auto', 'manual'))!.spec.replicas, 3);
    await controller.sync();
    assert.equal((await store.get<Service>('Service', 'auto', 'manual'))!.spec.replicas, 3, 'no load data: the autoscaler holds within the bounds');
  });
});
