import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Node, Replica, Service } from '@tide/api';
import { newReplica } from '@tide/control';
import { WarmAheadController, warmPlan } from './warm-ahead.controller';

const GI = 2 ** 30;

/** web at 1 CPU a replica, 4 now; a sale at 09:00 UTC raises the floor to 12 for an hour. */
const web = {
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas: 4, image: 'web:1', resources: { requests: { cpu: '1', memory: '1Gi' } },
    autoscale: { minReplicas: 2, maxReplicas: 20, targetRequestsPerSecond: 10, schedules: [{ name: 'sale', cron: '0 9 * * *', minReplicas: 12, durationSeconds: 3600 }] },
  },
} as Service;

function node(name: string, ready = true): Node {
  return { apiVersion: 'tide/v1', kind: 'Node', metadata: { name }, spec: {}, status: { ready, capacity: { cpu: 4000, memory: 8 * GI }, allocatable: { cpu: 4000, memory: 8 * GI } } } as Node;
}

/** A replica of web as the service controller makes it, running on `nodeName`. */
function replica(i: number, nodeName: string): Replica {
  const made = newReplica(web, () => i / 10);
  return { ...made, spec: { ...made.spec, nodeName }, status: { phase: 'Running', ready: true, restartCount: 0 } };
}

// n1 full with web's 4; n2 and n3 empty; n4 still booting.
const NODES = [node('n1'), node('n2'), node('n3'), node('n4', false)];
const REPLICAS = [0, 1, 2, 3].map((i) => replica(i, 'n1'));
const at = (iso: string) => Date.parse(iso);

describe('warm pools ahead of a scheduled floor', () => {
  it('asks nothing long before the floor, and for the 8 new replicas a lead before it, where they will start', () => {
    assert.deepEqual(warmPlan([web], NODES, REPLICAS, at('2026-03-02T08:00:00Z'), 60_000), []);
    const plan = warmPlan([web], NODES, REPLICAS, at('2026-03-02T08:59:10Z'), 60_000);
    assert.deepEqual(plan.map((r) => [r.node.metadata.name, r.starts, r.network, r.why]).sort(), [['n2', 4, 'bridge', 'schedule sale'], ['n3', 4, 'bridge', 'schedule sale']]);
  });

  it('posts each node its count once, records why, and says when a node could not be asked', async () => {
    const posts: string[] = [];
    const events: string[] = [];
    const now = { ms: at('2026-03-02T08:59:10Z') };
    const cache = { list: (kind: string) => (kind === 'Service' ? [web] : kind === 'Node' ? NODES : REPLICAS) } as never;
    const recorder = { record: async (_o: unknown, type: string, reason: string, message: string) => void events.push(`${type} ${reason}: ${message}`) };
    const controller = new WarmAheadController(cache, recorder, 60_000, async (n, body) => {
      if (n.metadata.name === 'n3') throw new Error('connect ECONNREFUSED');
      posts.push(`${n.metadata.name} ${body.network} ${body.starts}`);
    }, undefined, () => now.ms);
    await controller.sync();
    assert.deepEqual(posts, ['n2 bridge 4']);
    assert.deepEqual(events.sort(), [
      'Normal WarmingAhead: 4 replica(s) expected on n2 within 60 s (schedule sale): its warm pool boots 4 init(s) now',
      'Warning WarmingAheadFailed: n3: connect ECONNREFUSED: its 4 replica(s) expected within 60 s start cold',
    ]);
    now.ms += 2000;
    await controller.sync();
    assert.equal(posts.length, 1, 'the same need is not asked again within the lead');
  });
});
