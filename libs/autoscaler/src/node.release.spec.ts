import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NodeShare, nodeReleaseCount } from './node.release';

const alone = (...counts: number[]): NodeShare[] => counts.map((replicas) => ({ replicas, stays: false }));

describe('nodeReleaseCount', () => {
  const cases: { name: string; nodes: NodeShare[]; current: number; floor: number; want: number }[] = [
    // 8+8+1 = 17; down to 14 removes 3: the node holding 1 empties → 17 - 1 = 16, the rest of the hold stays.
    { name: 'the node holding fewest empties first', nodes: alone(8, 1, 8), current: 17, floor: 14, want: 16 },
    // Down to 8 removes 9: 1 + 8 empty two nodes → 17 - 9 = 8.
    { name: 'as many nodes as the floor frees', nodes: alone(8, 1, 8), current: 17, floor: 8, want: 8 },
    // Down to 17 - 0 = 17: nothing to remove.
    { name: 'no scale-in: the count stays', nodes: alone(8, 1, 8), current: 17, floor: 17, want: 17 },
    // Down to 12 removes 4: no node holds 4 or fewer → no node freed, the hold stays whole.
    { name: 'no node empties: the hold stays', nodes: alone(8, 8), current: 16, floor: 12, want: 16 },
    // 2 unplaced go first; down to 13 removes 5: 2 + the node of 3 → 18 - 5 = 13.
    { name: 'unplaced replicas go before any node', nodes: alone(8, 3, 5), current: 18, floor: 13, want: 13 },
    // The node of 1 stays (it holds another service too, or the pool is at its minimum): emptying it frees nothing; the next, 3, frees one: 12 - 4 = 8.
    { name: 'a node that stays is emptied but not freed', nodes: [{ replicas: 1, stays: true }, ...alone(3, 8)], current: 12, floor: 7, want: 8 },
    // Only the node that stays can be emptied within the budget: no node freed.
    { name: 'only a node that stays empties: the hold stays', nodes: [{ replicas: 1, stays: true }, ...alone(8)], current: 9, floor: 8, want: 9 },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(nodeReleaseCount(c.nodes, c.current, c.floor), c.want));
  }
});
