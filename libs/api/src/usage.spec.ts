import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { histogramQuantile } from './usage';

describe('histogramQuantile', () => {
  const bounds = [0.01, 0.1, 1];
  const cases: { what: string; q: number; counts: number[]; want: number | undefined }[] = [
    // rank 0.99*100 = 99: 90 below 0.01, the 9 of (0.01, 0.1] reach it at their top: 0.01 + 0.09*(9/9) = 0.1
    { what: 'p99 at the top of a bucket', q: 0.99, counts: [90, 9, 1, 0], want: 0.1 },
    // rank 50 in the first bucket, from 0: 0.01*(50/90) = 0.00556
    { what: 'median within the first bucket, from 0', q: 0.5, counts: [90, 9, 1, 0], want: 0.01 * (50 / 90) },
    // rank 0.99*10 = 9.9: 5 below 0.1, 5 in (0.1, 1]: 0.1 + 0.9*(4.9/5) = 0.982
    { what: 'linear within a later bucket', q: 0.99, counts: [0, 5, 5, 0], want: 0.1 + 0.9 * (4.9 / 5) },
    // every request slower than the last bound: that bound is all one can say
    { what: 'above the last bound', q: 0.99, counts: [0, 0, 0, 5], want: 1 },
    { what: 'no request', q: 0.99, counts: [0, 0, 0, 0], want: undefined },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const got = histogramQuantile(c.q, bounds, c.counts);
      if (c.want === undefined) assert.equal(got, undefined);
      else assert.ok(Math.abs(got! - c.want) < 1e-9, `${got} != ${c.want}`);
    });
  }
});
