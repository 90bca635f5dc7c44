import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, ReplicaPhase, Service } from '@tide/api';
import { resolvePolicy } from '@tide/autoscaler';
import { LoadSource, nodeShares, readLoad } from './autoscaler.load';
import { newReplica } from './replica.factory';

const NOW = Date.parse('2026-01-01T00:10:00.000Z');

function service(policy: 'tide' | 'hpa-default'): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, image: 'node', resources: { requests: { cpu: '100m' } }, autoscale: { maxReplicas: 8, targetCPUUtilizationPercentage: 60, policy } },
  };
}

function replica(s: Service, name: string, phase: ReplicaPhase, ready: boolean, extra: { deleting?: boolean } = {}): Replica {
  const r = newReplica(s);
  r.metadata.name = name;
  if (extra.deleting) r.metadata.deletionTimestamp = '2026-01-01T00:09:59.000Z';
  r.status = {
    phase, ready, restartCount: 0,
    ...(phase === 'Running' ? { startedAt: '2026-01-01T00:00:00.000Z', readyChangedAt: '2026-01-01T00:00:02.000Z' } : {}),
  };
  return r;
}

/** The running ones (a, b, d) use 0.05 cores each and have a counter; the others have none. */
const RUNNING = new Set(['web-a', 'web-b', 'web-d']);
const load: LoadSource = {
  cpuCores: (_ns, name) => (RUNNING.has(name) ? 0.05 : undefined),
  cpuCounter: (_ns, name) => (RUNNING.has(name) ? { atMs: NOW - 400, cpuSeconds: 30, startedAt: '2026-01-01T00:00:00.000Z' } : undefined),
  requestRate: () => undefined,
};

describe('readLoad', () => {
  it('tide: the CPU of the ready replicas with a rate, summed (the fast path)', () => {
    const s = service('tide');
    const replicas = [replica(s, 'web-a', 'Running', true), replica(s, 'web-b', 'Running', false), replica(s, 'web-c', 'Starting', false)];
    const reading = readLoad(s, replicas, load, NOW, resolvePolicy(s.spec.autoscale!));
    assert.deepEqual(reading, { atMs: NOW, cpu: { replicas: 1, usedCores: 0.05, requestedCores: 0.1 } });
  });

  it('hpa-default: every replica as the HPA sees a pod, with the counter metrics-server would scrape', () => {
    const s = service('hpa-default');
    const replicas = [
      replica(s, 'web-a', 'Running', true), replica(s, 'web-c', 'Starting', false),
      replica(s, 'web-d', 'Running', true, { deleting: true }), replica(s, 'web-e', 'Failed', false),
    ];
    const reading = readLoad(s, replicas, load, NOW, resolvePolicy(s.spec.autoscale!));
    assert.equal(reading.cpu, undefined);
    const started = Date.parse('2026-01-01T00:00:00.000Z');
    assert.deepEqual(reading.pods, [
      { name: 'web-a', phase: 'Running', deleting: false, ready: true, startedAtMs: started, readyChangedAtMs: started + 2000, requestedCores: 0.1,
        cpuCounter: { atMs: NOW - 400, cpuSeconds: 30, startedAtMs: started } },
      { name: 'web-c', phase: 'Pending', deleting: false, ready: false, requestedCores: 0.1 },
      { name: 'web-d', phase: 'Running', deleting: true, ready: true, startedAtMs: started, readyChangedAtMs: started + 2000, requestedCores: 0.1,
        cpuCounter: { atMs: NOW - 400, cpuSeconds: 30, startedAtMs: started } },
      { name: 'web-e', phase: 'Failed', deleting: false, ready: false, requestedCores: 0.1 },
    ]);
  });

  it('requests: the rate over every balancer, served by the ready replicas; no reading without a rate', () => {
    const s: Service = { ...service('tide'), spec: { ...service('tide').spec, autoscale: { maxReplicas: 8, targetRequestsPerSecond: 50 } } };
    const replicas = [replica(s, 'web-a', 'Running', true), replica(s, 'web-b', 'Running', true), replica(s, 'web-c', 'Starting', false)];
    const withRate: LoadSource = { ...load, requestRate: (ns, name) => (ns === 'default' && name === 'web' ? 120 : undefined) };
    assert.deepEqual(readLoad(s, replicas, withRate, NOW, resolvePolicy(s.spec.autoscale!)), { atMs: NOW, requests: { replicas: 2, perSecond: 120 } });
    assert.deepEqual(readLoad(s, replicas, load, NOW, resolvePolicy(s.spec.autoscale!)), { atMs: NOW }, 'no CPU target: no CPU read either');
  });

  it('tide, given every replica and what the node autoscaler hands back: the nodes holding the service\'s replicas, and which stay', () => {
    const s = service('tide');
    const other: Service = { ...s, metadata: { ...s.metadata, name: 'api' } };
    const on = (r: Replica, node: string) => ({ ...r, spec: { ...r.spec, nodeName: node } });
    const own = [on(replica(s, 'web-a', 'Running', true), 'n1'), on(replica(s, 'web-b', 'Running', true), 'n1'), on(replica(s, 'web-c', 'Starting', false), 'n2'),
      replica(s, 'web-d', 'Pending', false), on(replica(s, 'web-e', 'Failed', false), 'n3')];
    const everyReplica = [...own, on(replica(other, 'api-a', 'Running', true), 'n2'), on(replica(other, 'api-b', 'Succeeded', false), 'n1')];
    // n1: 2 of web, api-b finished (holds nothing); n2: 1 of web and api-a; web-d unplaced, web-e failed: on no node.
    const release = { everyReplica, handsBack: () => true };
    assert.deepEqual(nodeShares(own, release), [{ replicas: 2, stays: false }, { replicas: 1, stays: true }]);
    // n1 outside the node autoscaler's pool (or the pool at its minimum): emptying it frees nothing either.
    assert.deepEqual(nodeShares(own, { everyReplica, handsBack: (node) => node !== 'n1' }), [{ replicas: 2, stays: true }, { replicas: 1, stays: true }]);
    assert.deepEqual(readLoad(s, own, load, NOW, resolvePolicy(s.spec.autoscale!), release).nodes, nodeShares(own, release));
    assert.equal(readLoad(s, own, load, NOW, resolvePolicy(s.spec.autoscale!)).nodes, undefined, 'no node autoscaler: no nodes to free');
    assert.equal(readLoad(service('hpa-default'), own, load, NOW, resolvePolicy(service('hpa-default').spec.autoscale!), release).nodes, undefined, 'the HPA reads no nodes');
  });
});
