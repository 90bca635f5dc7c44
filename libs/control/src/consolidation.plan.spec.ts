import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, RestartPolicy, Service } from '@tide/api';
import { consolidationCancelled, findConsolidation, unsettled } from './consolidation.plan';
import { newReplica } from './replica.factory';

const GI = 2 ** 30;

function node(name: string, extra: { cordoned?: boolean; ready?: boolean } = {}): Node {
  return {
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' },
    spec: { address: '127.0.0.1', ...(extra.cordoned ? { cordoned: true } : {}) },
    status: { ready: extra.ready ?? true, capacity: { cpu: 1000, memory: 4 * GI }, allocatable: { cpu: 1000, memory: 4 * GI } },
  };
}

function service(name: string, cpu: number, restartPolicy: RestartPolicy = 'Always'): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default' },
    spec: { replicas: 1, image: 'busybox', restartPolicy, resources: { requests: { cpu: `${cpu}m`, memory: '64Mi' } } },
  };
}

function running(s: Service, nodeName: string): Replica {
  const r = newReplica(s);
  r.spec.nodeName = nodeName;
  r.status = { phase: 'Running', ready: true, restartCount: 0 };
  return r;
}

describe('findConsolidation', () => {
  const small = service('small', 300);
  const other = service('other', 300);
  const big = service('big', 800);

  it('empties the lighter of two nodes when its replicas fit on the other', () => {
    // n1: 300m + 300m = 60 %, n2: 300m = 30 % → n2 is tried first; 600m + 300m = 900m ≤ 1000m on n1.
    const replicas = [running(small, 'n1'), running(other, 'n1'), running(service('third', 300), 'n2')];
    const found = findConsolidation([node('n1'), node('n2')], replicas, [small, other, service('third', 300)]);
    assert.equal(found?.node, 'n2');
    assert.deepEqual(found?.moves.map((m) => m.to), ['n1']);
  });

  it('never empties a node whose replica uses a named local volume: its data stays there', () => {
    // As above n2 (30 %) is tried first and its 300m would fit on n1, but its replica keeps its data on
    // n2; n1's 600m may go to n2 instead (300m + 600m ≤ 1000m), the volume's replica staying put.
    const third = service('third', 300);
    third.spec.volumes = [{ name: 'data', localVolume: { name: 'pgdata' } }];
    third.spec.volumeMounts = [{ name: 'data', mountPath: '/data' }];
    const replicas = [running(small, 'n1'), running(other, 'n1'), running(third, 'n2')];
    const found = findConsolidation([node('n1'), node('n2')], replicas, [small, other, third]);
    assert.equal(found?.node, 'n1');
    assert.deepEqual(found?.moves.map((m) => `${m.replica.spec.service}→${m.to}`).sort(), ['other→n2', 'small→n2']);
  });

  it('leaves a node whose replicas do not fit elsewhere', () => {
    // n1: 800m; n2: 300m; 800 + 300 > 1000 either way.
    assert.equal(findConsolidation([node('n1'), node('n2')], [running(big, 'n1'), running(small, 'n2')], [big, small]), undefined);
  });

  it('never opens an empty node to empty another (hysteresis against the scheduler)', () => {
    // n2's 300m does not fit on n1 (800m); n3 is empty and would take it: no gain, no move.
    const nodes = [node('n1'), node('n2'), node('n3')];
    assert.equal(findConsolidation(nodes, [running(big, 'n1'), running(small, 'n2')], [big, small]), undefined);
  });

  it("keeps a service's spread: two replicas on two nodes stay apart", () => {
    // After the move n1 would hold 2 of 2; cap = floor((2 - 1) / 2 nodes) + maxSkew 1 = 1.
    const web = { ...service('web', 100), spec: { ...service('web', 100).spec, replicas: 2 } };
    assert.equal(findConsolidation([node('n1'), node('n2')], [running(web, 'n1'), running(web, 'n2')], [web]), undefined);
  });

  it('never moves onto a cordoned node, and never empties a cordoned one', () => {
    const replicas = [running(small, 'n1'), running(other, 'n2')];
    assert.equal(findConsolidation([node('n1', { cordoned: true }), node('n2')], replicas, [small, other]), undefined);
  });

  it('leaves run-to-completion replicas where they are', () => {
    // n2 (the job, 10 %) is the lighter node, but its replica would start its work over: n1 is emptied instead.
    const job = service('job', 100, 'OnFailure');
    const found = findConsolidation([node('n1'), node('n2')], [running(small, 'n1'), running(job, 'n2')], [small, job]);
    assert.equal(found?.node, 'n1');
    assert.deepEqual(found?.moves.map((m) => [m.replica.spec.service, m.to]), [['small', 'n2']]);
  });

  it('waits while the cluster is in motion', () => {
    const pending = newReplica(other);
    const replicas = [running(small, 'n1'), running(service('third', 300), 'n2'), pending];
    assert.match(unsettled([node('n1'), node('n2')], replicas) ?? '', /waiting for a node/);
    assert.equal(findConsolidation([node('n1'), node('n2')], replicas, [small, other, service('third', 300)]), undefined);
    const stopping = { ...running(other, 'n1'), metadata: { ...running(other, 'n1').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    assert.match(unsettled([node('n1'), node('n2')], [running(small, 'n1'), stopping]) ?? '', /stopping/);
    const draining = { ...node('n2'), spec: { ...node('n2').spec, drain: { reason: 'Drain' as const, startedAt: '' } } };
    assert.match(unsettled([node('n1'), draining], []) ?? '', /being emptied/);
  });
});

describe('consolidationCancelled', () => {
  const s = service('web', 300);

  it('goes on while on and every replica finds a node', () => {
    assert.equal(consolidationCancelled(true, [running(s, 'n1'), newReplica(s)]), undefined, 'a Pending replica not yet tried is no reason');
  });

  it('stops when turned off, or when a replica cannot be placed', () => {
    assert.equal(consolidationCancelled(false, []), 'consolidation is turned off');
    const stuck = newReplica(s);
    stuck.status = { phase: 'Pending', ready: false, restartCount: 0, unschedulable: { summary: '0/2 nodes available: 2 insufficient cpu', nodes: {} } };
    assert.equal(consolidationCancelled(true, [running(s, 'n1'), stuck]),
      `replica ${stuck.metadata.name} cannot be placed (0/2 nodes available: 2 insufficient cpu): the room is needed`);
    stuck.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    assert.equal(consolidationCancelled(true, [stuck]), undefined, 'one being deleted needs no room');
  });
});
