import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, Service } from '@tide/api';
import { NodeInfo, PendingReplica } from '@tide/scheduler';
import { planScaleDown, planScaleUp, trackEmpty } from './node.autoscaler.plan';
import { NodePool } from './node.provider';
import { newReplica } from './replica.factory';

const GI = 2 ** 30;
const POOL: NodePool = { name: 'web', template: { cpu: 4000, memory: 8 * GI, labels: {} }, minNodes: 1, maxNodes: 40 };

function pending(count: number, cpu = 1000, extra: Partial<PendingReplica> = {}): PendingReplica[] {
  return Array.from({ length: count }, (_, i) => ({ namespace: 'default', name: `p${i}`, service: 'web', cpu, memory: GI, ...extra }));
}

/** A registered node holding `replicas` of web at 500m each. */
function full(name: string, replicas: number): NodeInfo {
  return {
    name, labels: {}, allocatable: { cpu: 4000, memory: 8 * GI }, requested: { cpu: 500 * replicas, memory: 0.5 * GI * replicas },
    ready: true, cordoned: false, replicasOfService: { 'default/web': replicas },
  };
}

describe('planScaleUp', () => {
  const cases: { name: string; nodes?: NodeInfo[]; poolSize?: number; booting?: number; pending: PendingReplica[]; pool?: Partial<NodePool>;
    add: number; onComing?: number; overMax?: number; never?: number; reasons: string[] }[] = [
    // 10 × 1000m over nodes of 4000m: ceil(10000 / 4000) = 3 new nodes (4 + 3 + 3 under the spread cap).
    { name: 'bin-packs the pending replicas into new nodes in one decision', pending: pending(10), add: 3, reasons: ['NodeScaleUp'] },
    // One node booting takes 4 of the 6; ceil(6000 / 4000) - 1 booting = 1 more node for the rest.
    { name: 'counts a booting node as coming', booting: 1, poolSize: 1, pending: pending(6), add: 1, onComing: 3, reasons: ['NodeScaleUp'] },
    { name: 'adds nothing when the booting nodes take them all', booting: 1, poolSize: 1, pending: pending(3), add: 0, onComing: 3, reasons: ['NodeScaleUp'] },
    // maxNodes 2 and 1 node already: room for 1 node of 4 replicas; 12 - 4 = 8 stay pending.
    { name: 'never above maxNodes', pool: { maxNodes: 2 }, poolSize: 1, nodes: [full('n1', 8)], pending: pending(12), add: 1, overMax: 8,
      reasons: ['NodeScaleUp', 'NodeScaleUpLimited'] },
    { name: 'at maxNodes: nothing to add, the replicas stay pending', pool: { maxNodes: 1 }, poolSize: 1, nodes: [full('n1', 8)], pending: pending(2),
      add: 0, overMax: 2, reasons: ['NodeScaleUpLimited'] },
    // 6000m exceeds the template's 4000m: no node of this pool could ever take it.
    { name: 'not for a replica no node shape could take', pending: pending(2, 6000), add: 0, never: 2, reasons: ['NoNodeShapeFits'] },
    { name: 'not for a replica whose selector the template lacks', pending: pending(1, 500, { nodeSelector: { gpu: 'yes' } }), add: 0, never: 1,
      reasons: ['NoNodeShapeFits'] },
    { name: 'only for those that can fit, when some cannot', pending: [...pending(1, 6000), ...pending(4, 1000).map((r) => ({ ...r, name: `q${r.name}` }))],
      add: 1, never: 1, reasons: ['NoNodeShapeFits', 'NodeScaleUp'] },
    // Two full nodes hold 16 of web; 8 more of 500m. With 1 new node eligible nodes are 3: cap =
    // floor(16 / 3) + 1 = 6, rising to floor(22 / 3) + 1 = 8 as they land, so 1 node takes all 8.
    // A what-if over every node the pool could add (38) would start at a cap of floor(16 / 10) + 1 = 2: 3 nodes.
    { name: 'adds the nodes the spread needs once they exist, not those of a what-if over the whole pool', nodes: [full('n1', 8), full('n2', 8)],
      poolSize: 2, pending: pending(8, 500).map((r) => ({ ...r, memory: 0.5 * GI })), add: 1, reasons: ['NodeScaleUp'] },
    { name: 'nothing pending, nothing to do', pending: [], add: 0, reasons: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planScaleUp({ pool: { ...POOL, ...c.pool }, nodes: c.nodes ?? [], poolSize: c.poolSize ?? 0, booting: c.booting ?? 0, pending: c.pending });
      assert.equal(plan.add, c.add);
      if (c.onComing !== undefined) assert.equal(plan.onComing, c.onComing);
      assert.equal(plan.overMax.length, c.overMax ?? 0);
      assert.equal(plan.never.length, c.never ?? 0);
      assert.deepEqual(plan.events.map((e) => e.reason), c.reasons);
    });
  }

  it('says why in its events', () => {
    const plan = planScaleUp({ pool: POOL, nodes: [], poolSize: 0, booting: 0, pending: [...pending(10), ...pending(1, 6000)] });
    assert.match(plan.events[0].message, /1 pending replica\(s\) fit no node of pool web even empty \(4000m CPU, 8 GiB\): p0: insufficient cpu/);
    assert.match(plan.events[1].message, /10 replica\(s\) pending for lack of room \(default\/web ×10\): 3 new node\(s\) of pool web .* take 10/);
  });
});

const WEB: Service = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 1, image: 'busybox', resources: { requests: { cpu: '500m', memory: '512Mi' } } },
};

function node(name: string, extra: Partial<Node['spec']> = {}, ready = true): Node {
  return {
    apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default' }, spec: { address: '198.18.0.1', ...extra },
    status: { ready, capacity: { cpu: 4000, memory: 8 * GI }, allocatable: { cpu: 4000, memory: 8 * GI } },
  };
}

function replica(nodeName: string | undefined, phase: 'Running' | 'Succeeded' | 'Pending' = 'Running', extra: Partial<Replica['metadata']> = {}): Replica {
  const r = newReplica(WEB);
  if (nodeName) r.spec.nodeName = nodeName;
  r.status = { phase, ready: phase === 'Running', restartCount: 0 };
  Object.assign(r.metadata, extra);
  return r;
}

describe('planScaleDown', () => {
  const MIN = 60_000;
  const base = { pool: { ...POOL, minNodes: 1 }, booting: 0, nowMs: 10 * MIN, delayMs: 5 * MIN };
  const since = (entries: [string, number][]) => new Map(entries);
  const cases: { name: string; nodes: Node[]; replicas: Replica[]; emptySince: Map<string, number>; minNodes?: number; booting?: number;
    remove: string[]; held?: RegExp }[] = [
    { name: 'hands back a node empty for the delay', nodes: [node('a'), node('b')], replicas: [replica('a')], emptySince: since([['b', 4 * MIN]]), remove: ['b'] },
    // Empty since minute 6, now minute 10: 4 min < 5 min.
    { name: 'keeps a node empty for less than the delay', nodes: [node('a'), node('b')], replicas: [replica('a')], emptySince: since([['b', 6 * MIN]]), remove: [] },
    { name: 'keeps a node a user cordoned', nodes: [node('a'), node('b', { cordoned: true })], replicas: [replica('a')], emptySince: since([['b', 0]]), remove: [] },
    { name: 'keeps a node being drained', nodes: [node('a'), node('b', { drain: { reason: 'Drain', startedAt: '1998-06-29T00:00:00Z' } })],
      replicas: [replica('a')], emptySince: since([['b', 0]]), remove: [] },
    { name: 'keeps a node with a stopping replica', nodes: [node('a'), node('b')],
      replicas: [replica('a'), replica('b', 'Running', { deletionTimestamp: '1998-06-29T00:00:00Z' })], emptySince: since([['b', 0]]), remove: [] },
    { name: 'a finished replica does not keep a node', nodes: [node('a'), node('b')], replicas: [replica('a'), replica('b', 'Succeeded')],
      emptySince: since([['b', 0]]), remove: ['b'] },
    // Three nodes, min 2: one may go, the one empty longest.
    { name: 'never below minNodes, longest empty first', nodes: [node('a'), node('b'), node('c')], replicas: [], minNodes: 2,
      emptySince: since([['a', 2 * MIN], ['b', 0], ['c', 1 * MIN]]), remove: ['b'], held: /minNodes \(2\): 2 empty node\(s\) stay/ },
    // Booting nodes count in the size: 2 registered + 1 booting = 3, min 2.
    { name: 'counts booting nodes in the pool size', nodes: [node('a'), node('b')], replicas: [], minNodes: 2, booting: 1,
      emptySince: since([['a', 0], ['b', 0]]), remove: ['a'], held: /minNodes/ },
    { name: 'waits while a replica has not been tried by the scheduler', nodes: [node('a'), node('b')], replicas: [replica('a'), replica(undefined, 'Pending')],
      emptySince: since([['b', 0]]), remove: [], held: /waiting for the scheduler/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planScaleDown({ ...base, pool: { ...base.pool, minNodes: c.minNodes ?? 1 }, booting: c.booting ?? 0, nodes: c.nodes, replicas: c.replicas, emptySince: c.emptySince });
      assert.deepEqual(plan.remove, c.remove);
      assert.deepEqual(plan.events.map((e) => e.node), c.remove);
      if (c.held) assert.match(plan.held ?? '', c.held);
    });
  }

  it('says why in its events', () => {
    const plan = planScaleDown({ ...base, nodes: [node('a'), node('b')], replicas: [replica('a')], emptySince: since([['b', 3 * MIN]]) });
    assert.equal(plan.events[0].reason, 'NodeScaleDown');
    assert.match(plan.events[0].message, /empty for 7m00s \(at least 5m00s\): handed back to pool web, which keeps 1 node\(s\) \(min 1\)/);
  });
});

describe('trackEmpty', () => {
  it('keeps the time a node became empty, and forgets it once a replica lands', () => {
    const nodes = [node('a'), node('b'), node('c', { cordoned: true }), node('d', {}, false)];
    const first = trackEmpty(new Map(), nodes, [replica('a')], 1000);
    assert.deepEqual([...first], [['b', 1000]]);
    const second = trackEmpty(first, nodes, [replica('a')], 5000);
    assert.deepEqual([...second], [['b', 1000]]);
    assert.deepEqual([...trackEmpty(second, nodes, [replica('a'), replica('b')], 9000)], []);
  });
});
