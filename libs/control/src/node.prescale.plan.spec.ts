import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service } from '@tide/api';
import { NodeInfo } from '@tide/scheduler';
import { planScaleDown, planScaleUp } from './node.autoscaler.plan';
import { emptyNodesExpected, expectedReplicas, startsAhead, wantedAhead } from './node.prescale.plan';
import { NodePool } from './node.provider';

const GI = 2 ** 30;
const POOL: NodePool = { name: 'web', template: { cpu: 4000, memory: 8 * GI, labels: {} }, minNodes: 1, maxNodes: 40 };
const at = (iso: string) => Date.parse(iso);

/** web at 1 CPU a replica, 4 now; a sale at 09:00 UTC raises the floor to 12 for an hour. */
function web(replicas = 4): Service {
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas, image: 'web:1', resources: { requests: { cpu: '1', memory: '1Gi' } },
      autoscale: { minReplicas: 2, maxReplicas: 20, targetRequestsPerSecond: 10, schedules: [{ name: 'sale', cron: '0 9 * * *', minReplicas: 12, durationSeconds: 3600 }] },
    },
  } as Service;
}

function node(name: string, replicas: number): NodeInfo {
  return {
    name, labels: {}, allocatable: { cpu: 4000, memory: 8 * GI }, requested: { cpu: 1000 * replicas, memory: GI * replicas },
    ready: true, cordoned: false, replicasOfService: replicas ? { 'default/web': replicas } : {},
  };
}

describe('ahead of a scheduled floor or a forecast rise', () => {
  const table: [string, string, number | undefined, number, string | undefined][] = [
    ['long before the sale: the count now', '2026-03-02T08:00:00Z', undefined, 4, undefined],
    ['a boot time (2 min) before 09:00: the sale\'s floor', '2026-03-02T08:58:00Z', undefined, 12, 'schedule sale'],
    ['a forecast above the floor ahead wins', '2026-03-02T08:58:00Z', 15, 15, 'forecast'],
    ['a forecast over maxReplicas is cut to it', '2026-03-02T08:00:00Z', 50, 20, 'forecast'],
    ['a forecast under the count now asks nothing', '2026-03-02T08:00:00Z', 3, 4, undefined],
  ];
  for (const [name, iso, forecast, replicas, why] of table) {
    it(name, () => {
      const wanted = wantedAhead(web(), at(iso), 120_000, forecast);
      assert.equal(wanted.replicas, replicas);
      assert.equal(wanted.why, why);
    });
  }

  it('the node autoscaler boots the nodes the sale needs before it fires, and says why', () => {
    // 4 replicas on one full node; 8 more expected: two new nodes of 4 CPU.
    const expected = expectedReplicas(web(), 12 - 4);
    assert.equal(new Set(expected.map((r) => r.name)).size, 8, 'named apart');
    const plan = planScaleUp({ pool: POOL, nodes: [node('n1', 4)], poolSize: 1, booting: 0, pending: [], expected: { replicas: expected, why: 'schedule sale' } });
    assert.equal(plan.add, 2);
    assert.match(plan.events[0].message, /^8 expected ahead \(schedule sale\) \(default\/web ×8\): 2 new node\(s\)/);
  });

  it('keeps the empty nodes the expected replicas would take, and hands back the rest', () => {
    // n1 full, n2 and n3 and n4 empty for long: 6 expected take one empty node and a half: 2 kept, 1 goes.
    const nodes = [node('n1', 4), node('n2', 0), node('n3', 0), node('n4', 0)];
    const keep = emptyNodesExpected(nodes, expectedReplicas(web(), 6));
    assert.equal(keep, 2);
    const names = ['n1', 'n2', 'n3', 'n4'];
    const apiNodes = names.map((name) => ({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name }, spec: {}, status: { ready: true } }) as never);
    const plan = planScaleDown({ pool: POOL, nodes: apiNodes, replicas: [], booting: 0, emptySince: new Map(names.map((n) => [n, 0])), nowMs: 600_000, delayMs: 60_000, keep });
    assert.equal(plan.remove.length, 2, 'n1 is not empty in the Node list here: 4 empty, 2 kept');
    assert.match(plan.held ?? '', /2 empty node\(s\) stay for replicas expected ahead/);
  });

  it('says how many starts each node will take ahead, for its image and warm pool', () => {
    // n1 holds 3 of web, n2 and n3 none: 9 in all over 3 nodes, the default spread (maxSkew 1) puts 3
    // on each, so the 6 expected start on n2 and n3, 3 each, and n1 readies nothing.
    const starts = startsAhead([node('n1', 3), node('n2', 0), node('n3', 0)], expectedReplicas(web(), 6));
    assert.deepEqual([...starts].sort(), [['n2', 3], ['n3', 3]]);
    assert.equal(startsAhead([node('n1', 0)], []).size, 0);
  });

  it('expects nothing of an empty list, or when no node is empty', () => {
    assert.equal(emptyNodesExpected([node('n1', 1)], expectedReplicas(web(), 3)), 0);
    assert.equal(emptyNodesExpected([node('n1', 0)], []), 0);
  });
});
