import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service } from '@tide/api';
import { LoadSource, RATE_WINDOW_MS, readLoad } from './autoscale.reading';
import { newReplica } from './replica.factory';

function service(autoscale: NonNullable<Service['spec']['autoscale']>): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
    spec: { replicas: 3, image: 'busybox', resources: { requests: { cpu: '200m' } }, autoscale } };
}

function replica(s: Service, ready: boolean, deleting = false): Replica {
  const r = newReplica(s);
  r.spec.nodeName = 'n1';
  r.status = { phase: ready ? 'Running' : 'Starting', ready, restartCount: 0 };
  if (deleting) r.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  return r;
}

/** Cores per replica name (undefined: no rate yet), and a request rate; records the windows asked for. */
function source(cores: Record<string, number | undefined>, perSecond?: number): LoadSource & { windows: number[] } {
  const windows: number[] = [];
  return {
    windows,
    cpuCores: (_ns, name, windowMs) => (windows.push(windowMs), cores[name]),
    requestRate: (_ns, _service, windowMs) => (windows.push(windowMs), perSecond),
  };
}

describe('readLoad', () => {
  it('CPU of the ready replicas that have a rate, with their requests', () => {
    const s = service({ maxReplicas: 10, targetCPUUtilizationPercentage: 60 });
    const [a, b, starting, noRate, stopping] = [replica(s, true), replica(s, true), replica(s, false), replica(s, true), replica(s, true, true)];
    const load = source({ [a.metadata.name]: 0.15, [b.metadata.name]: 0.25, [starting.metadata.name]: 0.5, [stopping.metadata.name]: 0.5 });
    const reading = readLoad(s, [a, b, starting, noRate, stopping], load, 1234);
    // a and b only: used 0.15 + 0.25 = 0.4 cores, requested 2 × 200m = 0.4 cores
    assert.deepEqual(reading, { atMs: 1234, cpu: { replicas: 2, usedCores: 0.4, requestedCores: 0.4 } });
    assert.ok(load.windows.every((w) => w === RATE_WINDOW_MS));
  });

  it('no CPU reading while no ready replica has a rate', () => {
    const s = service({ maxReplicas: 10, targetCPUUtilizationPercentage: 60 });
    assert.deepEqual(readLoad(s, [replica(s, true)], source({}), 5), { atMs: 5 });
  });

  it('requests per second over every balancer, served by the ready replicas', () => {
    const s = service({ maxReplicas: 10, targetRequestsPerSecond: 50 });
    const reading = readLoad(s, [replica(s, true), replica(s, true), replica(s, false)], source({}, 120), 7);
    assert.deepEqual(reading, { atMs: 7, requests: { replicas: 2, perSecond: 120 } });
  });

  it('reads only the metrics the service targets', () => {
    const s = service({ maxReplicas: 10, targetRequestsPerSecond: 50 });
    const r = replica(s, true);
    const load = source({ [r.metadata.name]: 1 }, undefined);
    assert.deepEqual(readLoad(s, [r], load, 9), { atMs: 9 });
    assert.equal(load.windows.length, 1, 'the request rate only, no CPU lookups');
  });
});
