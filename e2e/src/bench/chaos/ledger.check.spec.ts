import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkWrites, StoredService } from './ledger.check';
import type { Outcome, WriteRecord, WrittenFields } from './write.stream';

let clock = 0;
const write = (fields: WrittenFields, outcome: Outcome = 'acknowledged', service = 'a'): WriteRecord =>
  ({ service, fields, outcome, status: outcome === 'acknowledged' ? 200 : outcome === 'refused' ? 503 : 504, at: clock++ });
const stored = (entries: [string, StoredService][]) => new Map(entries);

describe('checkWrites', () => {
  it('finds nothing wrong when etcd holds the last acknowledged write', () => {
    const ledger = [write({ exists: true, mark: 'm1', replicas: 2 }), write({ exists: true, replicas: 3 })];
    assert.deepEqual(checkWrites(ledger, stored([['a', { exists: true, mark: 'm1', replicas: 3 }]])), { lost: 0, phantom: 0, details: [] });
  });

  it('counts an acknowledged scale that etcd does not hold as lost', () => {
    const ledger = [write({ exists: true, mark: 'm1', replicas: 2 }), write({ exists: true, replicas: 3 })];
    const check = checkWrites(ledger, stored([['a', { exists: true, mark: 'm1', replicas: 2 }]]));
    assert.equal(check.lost, 1);
    assert.match(check.details[0], /lost: a \{"exists":true,"replicas":3\}/);
  });

  it('lets a later write of unknown outcome overwrite an acknowledged one, but not a refused one', () => {
    const ledger = [write({ exists: true, mark: 'm1', replicas: 2 }), write({ exists: true, replicas: 1 }, 'unknown'), write({ exists: true, replicas: 0 }, 'refused')];
    assert.equal(checkWrites(ledger, stored([['a', { exists: true, mark: 'm1', replicas: 1 }]])).lost, 0, 'the unknown one was applied');
    assert.equal(checkWrites(ledger, stored([['a', { exists: true, mark: 'm1', replicas: 2 }]])).lost, 0, 'it was not');
    assert.equal(checkWrites(ledger, stored([['a', { exists: true, mark: 'm1', replicas: 0 }]])).lost, 1, 'only a refused write set 0');
  });

  it('counts a mark that only a refused write set as a phantom', () => {
    const ledger = [write({ exists: true, mark: 'm1', replicas: 1 }), write({ exists: true, mark: 'm2', replicas: 1 }, 'refused')];
    const check = checkWrites(ledger, stored([['a', { exists: true, mark: 'm2', replicas: 1 }]]));
    assert.equal(check.phantom, 1);
    assert.equal(check.lost, 1, 'm1 was acknowledged and is gone');
  });

  it('checks deletes: an acknowledged delete must leave the Service absent', () => {
    const ledger = [write({ exists: true, mark: 'm1', replicas: 1 }), write({ exists: false })];
    assert.equal(checkWrites(ledger, stored([])).lost, 0);
    assert.equal(checkWrites(ledger, stored([['a', { exists: true, mark: 'm1', replicas: 1 }]])).lost, 1);
  });

  it('counts a Service whose acknowledged create is missing from etcd as lost', () => {
    assert.equal(checkWrites([write({ exists: true, mark: 'm1', replicas: 1 }, 'acknowledged', 'b')], stored([])).lost, 1);
  });
});
