import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node } from '@tide/api';
import { evictionsPaused, graceExpired, nodeLifecycleAction } from './node.lifecycle.plan';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const resources = { cpu: 1000, memory: 1 << 30 };

function node(name: string, ready: boolean, notReadySince?: number): Node {
  return {
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '198.18.0.1' },
    status: { capacity: resources, allocatable: resources, ready, ...(notReadySince !== undefined ? { notReadySince: new Date(notReadySince).toISOString() } : {}) },
  };
}

describe('node lifecycle plan', () => {
  it('turns a node NotReady when its lease is gone, Ready when it is back, and evicts after the grace its host\'s answer chooses', () => {
    const grace = { hostSilentMs: 2000, hostAnswersMs: 30_000 };
    const table: [string, Node, boolean, number, boolean | undefined, string][] = [
      // [why, node, lease alive, now, host answers, action]
      ['Ready, lease alive', node('n1', true), true, T0, undefined, 'none'],
      ['Ready, lease gone: NotReady at once', node('n1', true), false, T0, undefined, 'not-ready'],
      ['NotReady, lease back (the agent registered again)', node('n1', false, T0), true, T0 + 60_000, false, 'ready'],
      ['silent host, NotReady for 1.9 s of 2 s', node('n1', false, T0), false, T0 + 1900, false, 'none'],
      ['silent host, NotReady for exactly 2 s: not yet', node('n1', false, T0), false, T0 + 2000, false, 'none'],
      ['silent host, NotReady for 2.1 s: evict', node('n1', false, T0), false, T0 + 2100, false, 'evict'],
      ['host answers (agent down, containers run on): 2.1 s is not enough', node('n1', false, T0), false, T0 + 2100, true, 'none'],
      ['host answers, NotReady for 30.1 s: evict', node('n1', false, T0), false, T0 + 30_100, true, 'evict'],
      ['not probed yet: the long grace', node('n1', false, T0), false, T0 + 2100, undefined, 'none'],
      ['NotReady with no NotReadySince (never was Ready): no clock to run', node('n1', false), false, T0 + 600_000, false, 'none'],
    ];
    for (const [why, n, alive, now, answers, expected] of table) {
      assert.equal(nodeLifecycleAction(n, alive, now, grace, answers).type, expected, why);
    }
  });

  it('counts the grace from NotReadySince', () => {
    assert.equal(graceExpired(node('n1', false, T0), T0 + 30_001, 30_000), true);
    assert.equal(graceExpired(node('n1', false, T0), T0 + 29_999, 30_000), false);
  });

  it('pauses evictions when the control plane is more likely cut off than the nodes', () => {
    const nodes = (n: number) => Array.from({ length: n }, (_, i) => node(`n${i}`, true));
    const aliveOf = (n: number, lost: number) => new Set(Array.from({ length: n - lost }, (_, i) => `n${i}`));
    const table: [string, number, number, boolean][] = [
      // [why, nodes, NotReady, paused]
      ['1 of 3 lost (the nodeloss bench)', 3, 1, false],
      ['1 of 2 lost: 1 NotReady is not > 2, whatever the share', 2, 1, false],
      ['2 of 3 lost: 67 % but only 2 NotReady', 3, 2, false],
      ['every node NotReady: full disruption', 3, 3, true],
      ['the only node NotReady', 1, 1, true],
      ['3 of 5 lost: 3 > 2 and 60 % ≥ 55 %', 5, 3, true],
      ['3 of 6 lost: 50 % < 55 %', 6, 3, false],
      ['6 of 10 lost: 60 %', 10, 6, true],
      ['5 of 10 lost: 50 %', 10, 5, false],
    ];
    for (const [why, n, lost, paused] of table) {
      assert.equal(evictionsPaused(nodes(n), aliveOf(n, lost)) !== undefined, paused, why);
    }
    assert.equal(evictionsPaused([], new Set()), undefined, 'no nodes: nothing to pause');
    assert.match(evictionsPaused(nodes(3), aliveOf(3, 3))!, /all 3 node\(s\) are NotReady/);
  });
});
