/** Image GC planning (pure): least recently used first, never what is kept, a layer freed with its last image. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { GcCandidate, imageGcPolicy, parseGcThreshold, planImageRemoval } from './image.gc';

const image = (ref: string, lastUsedMs: number, layers: [string, number][]): GcCandidate => ({ ref, lastUsedMs, layers: layers.map(([diffID, bytes]) => ({ diffID, bytes })) });

describe('image garbage collection plan', () => {
  const old = image('old:1', 100, [['a', 30]]);
  const mid = image('mid:1', 200, [['a', 30], ['b', 20]]);
  const used = image('used:1', 50, [['c', 40]]);
  const fresh = image('fresh:1', 300, [['d', 10]]);
  const all = [old, mid, used, fresh];

  it('removes least recently used first, until the use is at the target', () => {
    // used 100 → 60: old frees nothing (mid holds a), mid frees 30 + 20 = 50 → 50 ≤ 60.
    assert.deepEqual(planImageRemoval(all, new Set(['used:1']), 100, 60), { remove: ['old:1', 'mid:1'], freedBytes: 50, short: false });
  });

  it('never removes a kept image, and says when the target cannot be met', () => {
    // Everything but used:1 frees 30 + 20 + 10 = 60 → 100 - 60 = 40 > 30.
    assert.deepEqual(planImageRemoval(all, new Set(['used:1']), 100, 30), { remove: ['old:1', 'mid:1', 'fresh:1'], freedBytes: 60, short: true });
  });

  it('removes nothing when the use is at or under the target', () => {
    assert.deepEqual(planImageRemoval(all, new Set(), 60, 60).remove, []);
  });

  it('prunes every unused image with a target of 0', () => {
    assert.deepEqual(planImageRemoval(all, new Set(['used:1', 'fresh:1']), 100, 0).remove, ['old:1', 'mid:1']);
  });
});

describe('image GC thresholds', () => {
  it('reads percentages and sizes', () => {
    assert.deepEqual(parseGcThreshold('85', 'x'), { percent: 85 });
    assert.deepEqual(parseGcThreshold('80%', 'x'), { percent: 80 });
    assert.deepEqual(parseGcThreshold('2Gi', 'x'), { bytes: 2 * 2 ** 30 });
    assert.deepEqual(parseGcThreshold('150M', 'x'), { bytes: 150e6 });
  });

  it('refuses nonsense, mixed kinds and a low threshold above the high one, naming the flag', () => {
    assert.throws(() => parseGcThreshold('120', '--image-gc-high-threshold'), /--image-gc-high-threshold: 120 is not a percentage/);
    assert.throws(() => parseGcThreshold('lots', '--image-gc-low-threshold'), /--image-gc-low-threshold: "lots" is neither/);
    assert.deepEqual(imageGcPolicy({ percent: 85 }, { percent: 80 }, 0), { high: { percent: 85 }, low: { percent: 80 }, minAgeMs: 0 });
    assert.throws(() => imageGcPolicy({ percent: 85 }, { bytes: 10 }), /both as percentages or both as sizes/);
    assert.throws(() => imageGcPolicy({ percent: 80 }, { percent: 85 }), /low threshold \(85\) is above the high one \(80\)/);
  });
});
