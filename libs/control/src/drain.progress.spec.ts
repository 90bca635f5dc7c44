import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, ReplicaPhase, RestartPolicy, Service } from '@tide/api';
import { drainProgress, mustMove } from './drain.progress';
import { newReplica, replacementFor } from './replica.factory';

function service(restartPolicy?: RestartPolicy): Service {
  return { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, image: 'busybox', ...(restartPolicy ? { restartPolicy } : {}) } };
}

function node(name: string, draining = true): Node {
  return { apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' },
    spec: { address: '127.0.1.1', cordoned: true, ...(draining ? { drain: { reason: 'Drain' as const, startedAt: '2026-01-01T00:00:00Z' } } : {}) },
    status: { ready: true, capacity: { cpu: 1000, memory: 2 ** 30 }, allocatable: { cpu: 1000, memory: 2 ** 30 } } };
}

function place(r: Replica, nodeName: string | undefined, phase: ReplicaPhase, extra: { deleting?: boolean; exitReason?: string } = {}): Replica {
  if (nodeName) r.spec.nodeName = nodeName;
  if (extra.deleting) r.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  r.status = { phase, ready: phase === 'Running', restartCount: 0,
    ...(extra.exitReason ? { lastExit: { code: null, signal: null, reason: extra.exitReason, finishedAt: '' } } : {}) };
  return r;
}

describe('mustMove', () => {
  it('live replicas that hold resources or will be restarted must leave; finished, lost and stopping ones need not', () => {
    const table: [string, Replica, boolean][] = [
      ['running', place(newReplica(service()), 'n1', 'Running'), true],
      ['starting', place(newReplica(service()), 'n1', 'Starting'), true],
      ['failed start of an Always replica (retried)', place(newReplica(service('Always')), 'n1', 'Failed'), true],
      ['failed, OnFailure (its policy keeps it down)', place(newReplica(service('OnFailure')), 'n1', 'Failed', { exitReason: 'Error' }), false],
      ['succeeded, Never', place(newReplica(service('Never')), 'n1', 'Succeeded'), false],
      ['lost with its node', place(newReplica(service()), 'n1', 'Failed', { exitReason: 'NodeLost' }), false],
      ['stopping', place(newReplica(service()), 'n1', 'Terminating', { deleting: true }), false],
    ];
    for (const [what, replica, expected] of table) assert.equal(mustMove(replica), expected, what);
  });
});

describe('drainProgress', () => {
  it('an empty node is empty', () => {
    const progress = drainProgress(node('n1'), []);
    assert.deepEqual(progress, { node: 'n1', cordoned: true, drain: { reason: 'Drain', startedAt: '2026-01-01T00:00:00Z' }, empty: true, remaining: [], stopping: [], moved: [] });
  });

  it('tells each replica\'s move: waiting its turn, replacement placed, replacement stuck', () => {
    const s = service();
    const waiting = place(newReplica(s), 'n1', 'Running');
    const moving = place(newReplica(s), 'n1', 'Running');
    const stuckOld = place(newReplica(s), 'n1', 'Running');
    const placed = place(replacementFor(s, moving, 'Drain', 'n1'), 'n2', 'Starting');
    const stuck = place(replacementFor(s, stuckOld, 'Drain', 'n1'), undefined, 'Pending');
    stuck.status!.unschedulable = { summary: '0/2 nodes available: 1 cordoned, 1 insufficient cpu', nodes: {} };
    const progress = drainProgress(node('n1'), [waiting, moving, stuckOld, placed, stuck]);
    const byName = new Map(progress.remaining.map((item) => [item.replica, item]));
    assert.equal(progress.empty, false);
    assert.equal(byName.get(waiting.metadata.name)!.message, 'waiting for its turn to move');
    assert.equal(byName.get(moving.metadata.name)!.message, `replacement ${placed.metadata.name} starting on n2`);
    assert.deepEqual(byName.get(moving.metadata.name)!.replacement, { name: placed.metadata.name, node: 'n2', phase: 'Starting', ready: false });
    assert.equal(byName.get(stuckOld.metadata.name)!.stuck, true);
    assert.match(byName.get(stuckOld.metadata.name)!.message, /^stuck: no other node can take its replacement .*: 0\/2 nodes available/);
  });

  it('a replacement that landed on the node itself is a surge: it moves once ready', () => {
    const s = service();
    const old = place(newReplica(s), 'n2', 'Running');
    const surge = place(replacementFor(s, old, 'Update'), 'n1', 'Starting');
    const [item] = drainProgress(node('n1'), [old, surge]).remaining;
    assert.equal(item.surge, true);
    assert.equal(item.message, `replacement of ${old.metadata.name}: moved once it is ready`);
  });

  it('a stopping old replica is listed as stopping, and once it is gone its move is told', () => {
    const s = service();
    const old = place(newReplica(s), 'n1', 'Terminating', { deleting: true });
    const replacement = place(replacementFor(s, old, 'Drain', 'n1'), 'n2', 'Running');
    const stopping = drainProgress(node('n1'), [old, replacement]);
    assert.equal(stopping.empty, false);
    assert.deepEqual(stopping.stopping.map((i) => i.message), [`stopping (grace period 30s): replacement ${replacement.metadata.name} is ready on n2`]);
    assert.deepEqual(stopping.moved, [{ namespace: 'default', replica: old.metadata.name, replacement: replacement.metadata.name, node: 'n2' }]);
    const done = drainProgress(node('n1'), [replacement]);
    assert.equal(done.empty, true);
    assert.deepEqual(done.moved, [{ namespace: 'default', replica: old.metadata.name, replacement: replacement.metadata.name, node: 'n2' }]);
  });

  it('on a node not being drained, nothing moves', () => {
    const [item] = drainProgress(node('n1', false), [place(newReplica(service()), 'n1', 'Running')]).remaining;
    assert.equal(item.message, 'not moving: the node is not being drained');
  });
});
