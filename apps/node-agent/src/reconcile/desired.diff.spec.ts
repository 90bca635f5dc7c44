import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReplicaSetDiff, diffDesired } from './desired.diff';

describe('desired vs actual', () => {
  const table: [string, string[], string[], ReplicaSetDiff][] = [
    ['empty node, two desired', ['d/a', 'd/b'], [], { toStart: ['d/a', 'd/b'], toStop: [], kept: [] }],
    ['adopted containers still desired', ['d/a'], ['d/a'], { toStart: [], toStop: [], kept: ['d/a'] }],
    ['scale down', ['d/a'], ['d/a', 'd/b'], { toStart: [], toStop: ['d/b'], kept: ['d/a'] }],
    ['empty desired set stops everything', [], ['d/a', 'x/b'], { toStart: [], toStop: ['d/a', 'x/b'], kept: [] }],
    ['same name in another namespace is another replica', ['x/a'], ['d/a'], { toStart: ['x/a'], toStop: ['d/a'], kept: [] }],
  ];
  for (const [title, desired, actual, expected] of table) it(title, () => assert.deepEqual(diffDesired(desired, actual), expected));
});
