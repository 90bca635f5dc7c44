import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { packByBytes } from './txn.budget';

describe('packByBytes', () => {
  const sizes = (batches: number[][]) => batches.map((b) => b.join('+'));

  it('fills a batch up to the byte budget, in order', () => {
    // 400+400 = 800 fits 1000; +400 = 1200 does not: a new batch.
    assert.deepEqual(sizes(packByBytes([400, 400, 400, 100, 500], (n) => n, { bytes: 1000 })), ['400+400', '400+100+500']);
  });

  it('caps the items per batch as well', () => {
    assert.deepEqual(sizes(packByBytes([1, 1, 1, 1, 1], (n) => n, { bytes: 1000, items: 2 })), ['1+1', '1+1', '1']);
  });

  it('puts an item over the budget alone instead of dropping it', () => {
    assert.deepEqual(sizes(packByBytes([10, 5000, 10], (n) => n, { bytes: 1000 })), ['10', '5000', '10']);
  });

  it('sizes 100 replicas of 200 kB into transactions under etcd\'s 1.5 MiB', () => {
    const batches = packByBytes(new Array(100).fill(200 * 1024), (n) => n);
    // 1 MiB / 200 KiB = 5.12: five per transaction, 20 transactions.
    assert.equal(batches.length, 20);
    assert.ok(batches.every((b) => b.length === 5));
  });

  it('answers no batch for no items', () => {
    assert.deepEqual(packByBytes([], (n: number) => n), []);
  });
});
