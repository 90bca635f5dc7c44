import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { NodeUsageView } from '@tide/api';
import { usageChanges } from './dashboard.stream';

describe('usageChanges', () => {
  it('sends the nodes whose numbers moved, and those no longer reported as unknown', () => {
    const sent = new Map<string, NodeUsageView>([
      ['node-1', { name: 'node-1', cpu: 100, memory: 1000 }],
      ['node-2', { name: 'node-2', cpu: 200, memory: 2000 }],
      ['node-3', { name: 'node-3', cpu: 300, memory: 3000 }],
    ]);
    const now = [
      { name: 'node-1', cpu: 100, memory: 1000 }, // unchanged: not sent again
      { name: 'node-2', cpu: 250, memory: 2000 },
      { name: 'node-4', cpu: 0, memory: 512 }, // new
    ];
    assert.deepEqual(usageChanges(sent, now), {
      nodes: [{ name: 'node-2', cpu: 250, memory: 2000 }, { name: 'node-4', cpu: 0, memory: 512 }],
      unknown: ['node-3'],
    });
  });
});
