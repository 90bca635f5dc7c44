/**
 * Issue 18, ahead of the peak: before a scheduled floor fires, the control plane asks the node that
 * will take the new replicas to boot as many container inits (the warm-ahead loop, `POST /v1/warm`),
 * so that when the floor fires they all start in inits that were waiting. The schedule fires at the
 * next whole minute at least 75 s away (the lead is 60 s, cron has minute resolution), for 60 s.
 * Asserted: the Service's `WarmingAhead` Event and the agent's waiting inits, both before the fire
 * time with the count still at the floor; then the new replicas are those inits. The node already
 * holds the image here (it runs the floor); pulling it ahead to nodes that lack it is the image
 * puller's pre-pull (registry.e2e).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Service, TideEvent } from '@tide/api';
import { TestCluster, running, sleeperService, waitFor, waitingInits } from './harness';

const BASE = 23200;
const POD_CIDR = '100.64.200.0/22';
const FLOOR = 1;
const SCHEDULED = 6;
/** The agent's --warm-pool default: what it keeps booted without a word from the control plane. */
const DEFAULT_POOL = 2;

function manifest(fireAt?: Date): string {
  const schedule = fireAt
    ? `\n    schedules:\n      - { name: doors-open, cron: "${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * *", timeZone: UTC, minReplicas: ${SCHEDULED}, durationSeconds: 60 }`
    : '';
  return sleeperService('doors', {
    cpu: '20m', memory: '16Mi',
    spec: `  autoscale:\n    minReplicas: ${FLOOR}\n    maxReplicas: 8\n    targetCPUUtilizationPercentage: 60${schedule}\n`,
  });
}

describe('warm pools filled ahead of a scheduled floor', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let agentPid: number;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
    const record = JSON.parse(fs.readFileSync(path.join(cluster.stateDir, 'cluster.json'), 'utf8')) as { nodes: { pid: number }[] };
    agentPid = record.nodes[0].pid;
  });

  after(async () => {
    await cluster?.stop();
  });

  it('boots the floor\'s inits on the node before it fires, and the new replicas start in them', async () => {
    const service = () => cluster.api<Service>('/api/v1/services/doors');
    assert.equal((await cluster.apply(manifest())).code, 0);
    await waitFor('the floor running', async () => (running(await cluster.replicas('doors')).length === FLOOR ? true : undefined), 120_000);
    await waitFor(`the agent's own ${DEFAULT_POOL} waiting inits`, async () => (waitingInits(agentPid).length === DEFAULT_POOL ? true : undefined), 90_000);

    const fireAt = new Date(Date.now() + 75_000);
    fireAt.setUTCSeconds(0, 0);
    fireAt.setUTCMinutes(fireAt.getUTCMinutes() + 1);
    assert.equal((await cluster.apply(manifest(fireAt))).code, 0);

    // Ahead: the loop's Event, and as many waiting inits as the floor adds, while the count is still the floor's.
    const expected = SCHEDULED - FLOOR;
    const warming = await waitFor('the WarmingAhead Event', async () => {
      const events = await cluster.api<{ items: TideEvent[] }>('/api/v1/events?kind=Service&name=doors');
      return events.items.find((e) => e.spec.reason === 'WarmingAhead');
    }, 150_000, 500);
    assert.match(warming.spec.message, new RegExp(`^${expected} replica\\(s\\) expected on .* \\(schedule doors-open\\): its warm pool boots ${expected} init\\(s\\) now$`));
    const waiting = await waitFor(`${expected} waiting inits`, async () => {
      const pids = waitingInits(agentPid);
      return pids.length >= expected ? pids : undefined;
    }, 60_000, 250);
    assert.ok(Date.now() < fireAt.getTime(), `the inits were booted before the floor fired at ${fireAt.toISOString()}`);
    assert.equal((await service()).spec.replicas, FLOOR, 'the count is still the floor\'s');

    const replicas = await waitFor(`${SCHEDULED} running replicas from the schedule`, async () => {
      const list = running(await cluster.replicas('doors'));
      return list.length === SCHEDULED ? list : undefined;
    }, 150_000, 250);
    const pids = replicas.map((r) => r.status?.pid);
    const warm = waiting.filter((pid) => pids.includes(pid));
    assert.ok(warm.length >= expected, `the ${expected} new replicas started in waiting inits: ${warm.length} did (waiting ${waiting.join(', ')}, replicas ${pids.join(', ')})`);
  });
});
