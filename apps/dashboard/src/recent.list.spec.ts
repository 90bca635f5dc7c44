import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { RecentList } from './recent.list';

describe('RecentList', () => {
  it('keeps the newest items up to its limit, however many come', () => {
    const recent = new RecentList<number>(1000);
    for (let batch = 0; batch < 50; batch++) recent.push(Array.from({ length: 100 }, (_, i) => batch * 100 + i));
    assert.equal(recent.items.length, 1000);
    assert.equal(recent.items[0], 4000);
    assert.equal(recent.items.at(-1), 4999);
    recent.push(Array.from({ length: 200_000 }, (_, i) => i)); // one huge first read
    assert.deepEqual([recent.items.length, recent.items[0]], [1000, 199_000]);
    recent.clear();
    assert.deepEqual(recent.items, []);
  });
});
