import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Replica, Service } from '@tide/api';
import { newReplica, replacementFor } from './replica.factory';
import { pairMoves } from './replica.moves';

const service: Service = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, image: 'busybox' } };

function created(r: Replica, at: string): Replica {
  r.metadata.creationTimestamp = at;
  return r;
}

const names = (rs: readonly Replica[]) => rs.map((r) => r.metadata.name).sort();

describe('pairMoves', () => {
  it('pairs a replacement with the live replica it replaces; the rest stand alone', () => {
    const a = created(newReplica(service), '2026-01-01T00:00:00Z');
    const b = created(newReplica(service), '2026-01-01T00:00:01Z');
    const ra = created(replacementFor(service, a, 'Drain', 'n1'), '2026-01-01T00:01:00Z');
    const { moves, singles } = pairMoves([a, b, ra]);
    assert.deepEqual(moves.map((m) => [m.old.metadata.name, m.replacement.metadata.name]), [[a.metadata.name, ra.metadata.name]]);
    assert.deepEqual(names(singles), names([b]));
  });

  it('a replacement whose old replica is gone counts on its own', () => {
    const a = newReplica(service);
    const ra = replacementFor(service, a, 'Update');
    assert.deepEqual(pairMoves([ra]), { moves: [], singles: [ra] });
  });

  it('no chains: a replacement of a replacement that is still moving stands alone', () => {
    const a = created(newReplica(service), '2026-01-01T00:00:00Z');
    const ra = created(replacementFor(service, a, 'Drain'), '2026-01-01T00:01:00Z');
    const rra = created(replacementFor(service, ra, 'Drain'), '2026-01-01T00:02:00Z');
    const { moves, singles } = pairMoves([a, ra, rra]);
    assert.equal(moves.length, 1);
    assert.equal(moves[0].old, a);
    assert.deepEqual(names(singles), names([rra]));
  });

  it('one replacement per old replica: the first created wins, a second one stands alone', () => {
    const a = created(newReplica(service), '2026-01-01T00:00:00Z');
    // Two writers' replacements would share a name (replacementFor derives it); renamed here to have both.
    const first = created(replacementFor(service, a, 'Drain'), '2026-01-01T00:01:00Z');
    first.metadata.name = 'web-x-first';
    const second = created(replacementFor(service, a, 'Update'), '2026-01-01T00:02:00Z');
    second.metadata.name = 'web-x-second';
    const { moves, singles } = pairMoves([second, a, first]);
    assert.deepEqual(moves.map((m) => m.replacement.metadata.name), ['web-x-first']);
    assert.deepEqual(names(singles), ['web-x-second']);
  });
});
