import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DrainItem, DrainProgress, Node, Replica, Service } from '@tide/api';
import { MOVES_IN_FLIGHT, cancelledMoves, movesToStart } from './drain.plan';
import { newReplica, replacementFor } from './replica.factory';

function item(replica: string, extra: Partial<DrainItem> = {}): DrainItem {
  return { namespace: 'default', replica, service: 'web', phase: 'Running', ready: true, surge: false, stuck: false, message: '', ...extra };
}

function progress(remaining: DrainItem[]): DrainProgress {
  return { node: 'n1', cordoned: true, empty: false, remaining, stopping: [], moved: [] };
}

describe('movesToStart', () => {
  it('starts moves without a replacement, up to the room left in flight', () => {
    const moving = [1, 2, 3].map((i) => item(`m${i}`, { replacement: { name: `r${i}`, phase: 'Starting', ready: false } }));
    const waiting = Array.from({ length: 10 }, (_, i) => item(`w${i}`));
    // Drain: 8 in flight, 3 used → 5 start.
    assert.deepEqual(movesToStart(progress([...moving, ...waiting]), 'Drain').map((i) => i.replica), ['w0', 'w1', 'w2', 'w3', 'w4']);
    // Consolidation: 2 in flight, 3 used → none.
    assert.deepEqual(movesToStart(progress([...moving, ...waiting]), 'Consolidation'), []);
    assert.equal(MOVES_IN_FLIGHT.Consolidation < MOVES_IN_FLIGHT.Drain, true);
  });

  it('a ready replacement is no longer in flight; a surge replica is never moved itself', () => {
    const done = item('d', { replacement: { name: 'rd', node: 'n2', phase: 'Running', ready: true } });
    const surge = item('s', { surge: true });
    // Consolidation: 2 in flight, none used (the ready one has arrived) → both waiting ones start.
    assert.deepEqual(movesToStart(progress([done, surge, item('a'), item('b'), item('c')]), 'Consolidation').map((i) => i.replica), ['a', 'b']);
  });
});

describe('cancelledMoves', () => {
  const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2, image: 'busybox' } };
  const node = (name: string, draining: boolean): Node => ({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' },
    spec: { address: '127.0.1.1', ...(draining ? { drain: { reason: 'Drain' as const, startedAt: '' } } : {}) } });
  const replacementOff = (from: string, placedOn?: string): Replica => {
    const r = replacementFor(service, newReplica(service), 'Drain', from);
    if (placedOn) r.spec.nodeName = placedOn;
    return r;
  };

  it('withdraws unplaced replacements of moves off a node no longer being emptied', () => {
    const offCancelled = replacementOff('n1');
    const offDraining = replacementOff('n2');
    const placed = replacementOff('n1', 'n3');
    const rollout = replacementFor(service, newReplica(service), 'Update'); // no fromNode: not a node's move
    const stopping = replacementOff('n1');
    stopping.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    const withdrawn = cancelledMoves([node('n1', false), node('n2', true)], [offCancelled, offDraining, placed, rollout, stopping, newReplica(service)]);
    assert.deepEqual(withdrawn.map((r) => r.metadata.name), [offCancelled.metadata.name]);
  });
});
