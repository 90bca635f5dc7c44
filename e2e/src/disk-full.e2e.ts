/**
 * Issue 17, disk: a node whose state directory's filesystem fills up (the chaos scenario disk-full,
 * e2e/src/bench/chaos/disk-full.scenario.ts) keeps its agent running and its state files whole,
 * reports DiskPressure, gets no new replica meanwhile, and clears once space is back.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { fillNodeState } from './bench/chaos/disk-full.scenario';
import { TestCluster, running, sleeperService, waitFor } from './harness';

const BASE = 23000;
const POD_CIDR = '100.64.216.0/22';

describe('a node whose state directory fills up', { timeout: 900_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('keeps running and whole, reports DiskPressure, takes no new replica, and recovers', async () => {
    assert.equal((await cluster.apply(sleeperService('chx-steady', { replicas: 4, cpu: '10m', memory: '8Mi' }))).code, 0);
    await waitFor('four replicas running', async () => running(await cluster.replicas('chx-steady')).length === 4 || undefined, 180_000);
    // Scaled up while the node is full: the new replicas must all go to the other node.
    const scaling = (async () => {
      await waitFor('the pressure reported', async () => (await cluster.nodeList()).some((n) => n.status?.conditions?.some((c) => c.type === 'DiskPressure')) || undefined, 180_000);
      assert.equal((await cluster.tsctl(['scale', 'service/chx-steady', '--replicas', '8'])).code, 0);
    })();
    const { figures } = await fillNodeState(cluster, 'node-2', (line) => console.log(line));
    await scaling;
    console.log(`disk-full: ${JSON.stringify(figures)}`);
    assert.ok(figures.pressure_reported_s >= 0, 'DiskPressure was reported while the disk was full');
    assert.equal(figures.agent_healthz_failures, 0, 'the agent answered all along');
    assert.equal(figures.state_files_torn, 0, 'every state file parses');
    assert.equal(figures.placed_under_pressure, 0, 'no replica placed on the node under pressure');
    assert.ok(figures.pressure_cleared_s >= 0);
    const table = await cluster.tsctl(['get', 'nodes']);
    assert.doesNotMatch(table.stdout, /DiskPressure/, table.stdout);
    await waitFor('eight replicas running after the move back', async () => running(await cluster.replicas('chx-steady')).length === 8 || undefined, 180_000);
  });
});
