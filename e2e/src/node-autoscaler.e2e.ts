/**
 * Issue 18 acceptance, elastic nodes: a one-node cluster with a node pool (`tsctl up --node-pool`,
 * the control plane's local provider starting agents on this machine). A replica Pending for lack of
 * room makes the node autoscaler add a node of the pool, and the replica runs there; when room frees
 * up on the first node, consolidation moves that replica back, the pool's node is empty, and after
 * the scale-down delay the node autoscaler removes it (agent stopped, Node gone). Both are Events
 * with their reasons. Conditions only, with generous deadlines.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Node, Replica, TideEvent } from '@tide/api';
import { TestCluster, sleeperService, waitFor } from './harness';

const BASE = 21570;
const POD_CIDR = '100.64.108.0/22';
const POOL = 'burst';

/** 600m each: node-1 (1900m allocatable: the whole machine less the agent's reserve) holds three, a pool node (1000m) one. */
const service = (name: string, replicas: number) => sleeperService(name, { replicas, cpu: '600m', memory: '16Mi' });

describe('the node autoscaler with a local node pool', { timeout: 900_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({
      nodes: 1, basePort: BASE, podCidr: POD_CIDR,
      // /24 node slices: the /22 holds node-1 and the pool's nodes.
      upFlags: ['--node-cidr-mask-size', '24', '--node-pool', `name=${POOL},min=0,max=2,cpu=1,memory=1Gi`, '--node-scale-down-delay-seconds', '5', '--consolidation-delay-seconds', '2'],
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  const live = async (name: string) => (await cluster.replicas(name)).filter((r: Replica) => !r.metadata.deletionTimestamp);
  const nodes = async () => (await cluster.api<{ items: Node[] }>('/api/v1/nodes')).items;
  const events = async (name: string) => (await cluster.api<{ items: TideEvent[] }>(`/api/v1/events?kind=Node&name=${name}`)).items;

  it('adds a node for a replica that finds no room, and removes it once consolidation has emptied it', async () => {
    for (const [name, replicas] of [['batch', 1], ['web', 2]] as const) {
      const applied = await cluster.apply(service(name, replicas));
      assert.equal(applied.code, 0, applied.stderr);
    }
    await waitFor('3 replicas running on node-1', async () => {
      const all = [...await live('batch'), ...await live('web')];
      return all.length === 3 && all.every((r) => r.spec.nodeName === 'node-1' && r.status?.ready);
    }, 120_000);

    // A fourth replica (another service: consolidation keeps a service spread, so it would not pack a
    // third web replica beside two) does not fit on node-1: the node autoscaler adds a node of the pool and it runs there.
    const extra = await cluster.apply(service('extra', 1));
    assert.equal(extra.code, 0, extra.stderr);
    const added = await waitFor('a pool node running the extra replica', async () => {
      const pool = (await nodes()).filter((n) => n.metadata.labels?.['tide.io/pool'] === POOL && n.status?.ready);
      const there = (await live('extra')).find((r) => pool.some((n) => n.metadata.name === r.spec.nodeName) && r.status?.ready);
      return there?.spec.nodeName;
    }, 240_000, 500);
    assert.match(added, new RegExp(`^${POOL}-\\d+$`));
    assert.equal((await nodes()).filter((n) => n.metadata.labels?.['tide.io/pool'] === POOL).length, 1, 'one node for one replica (the what-if), not one per pass');
    const up = (await events(added)).find((e) => e.spec.reason === 'NodeScaleUp');
    assert.match(up?.spec.message ?? '', /1 replica\(s\) pending for lack of room \(default\/extra ×1\): 1 new node\(s\) of pool burst \(1000m CPU, 1 GiB\) take 1/);

    // Room on node-1 again: consolidation moves the replica there, and the empty pool node is handed back.
    const deleted = await cluster.tsctl(['delete', 'service', 'batch']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor(`${added} removed`, async () => !(await nodes()).some((n) => n.metadata.name === added), 240_000, 500);
    const running = [...await live('web'), ...await live('extra')];
    assert.equal(running.length, 3);
    assert.ok(running.every((r) => r.spec.nodeName === 'node-1'), `every replica on node-1: ${running.map((r) => `${r.metadata.name} ${r.spec.nodeName}`).join(', ')}`);
    const history = await events(added);
    assert.ok(history.some((e) => e.spec.reason === 'Consolidating'), `consolidation emptied it: ${history.map((e) => e.spec.reason).join(', ')}`);
    const down = history.find((e) => e.spec.reason === 'NodeScaleDown');
    assert.match(down?.spec.message ?? '', /^empty for \d+s \(at least 5s\): handed back to pool burst, which keeps 0 node\(s\) \(min 0\)/);
    assert.equal((await nodes()).length, 1, 'node-1 stays: only nodes of the pool are removed');
  });
});
