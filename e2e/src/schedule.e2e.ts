/**
 * Issue 18 acceptance, a cron floor: a schedule of an autoscaled service fires during the test,
 * raises the floor at its time (the replicas run and get ready), then lowers it after its duration.
 * The schedule fires at the next whole minute at least 25 s away (cron has minute resolution), in
 * UTC, for 60 s (the shortest a schedule may last). Asserted by the autoscaler's own decision times (status and Events), not by how long
 * anything took: no raise before the fire time, the floor's replicas ready, no return before the end.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Service, TideEvent } from '@tide/api';
import { TestCluster, sleeperService, waitFor } from './harness';

const BASE = 22700;
const POD_CIDR = '100.64.28.0/22';
const FLOOR = 1;
const SCHEDULED = 3;
const DURATION_S = 60; // the shortest a schedule may last

/** The next whole minute at least `leadMs` from now. */
function nextMinute(leadMs: number): Date {
  const at = new Date(Date.now() + leadMs);
  at.setUTCSeconds(0, 0);
  at.setUTCMinutes(at.getUTCMinutes() + 1);
  return at;
}

function manifest(fireAt?: Date): string {
  const schedule = fireAt
    ? `\n    schedules:\n      - { name: lunch-rush, cron: "${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * *", timeZone: UTC, minReplicas: ${SCHEDULED}, durationSeconds: ${DURATION_S} }`
    : '';
  return sleeperService('rush', {
    cpu: '50m', memory: '16Mi',
    spec: `  autoscale:\n    minReplicas: ${FLOOR}\n    maxReplicas: 4\n    targetCPUUtilizationPercentage: 60${schedule}\n`,
  });
}

describe('a scheduled floor', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: POD_CIDR });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('raises the floor when its cron fires and lowers it after its duration', async () => {
    const service = () => cluster.api<Service>('/api/v1/services/rush');
    const ready = async () => (await cluster.replicas('rush')).filter((r) => !r.metadata.deletionTimestamp && r.status?.ready).length;
    const first = await cluster.apply(manifest());
    assert.equal(first.code, 0, first.stderr);
    await waitFor('the floor running', async () => (await ready()) === FLOOR, 120_000);
    // The schedule is added once the floor runs, for the next whole minute far enough ahead.
    const fireAt = nextMinute(15_000);
    const endAt = fireAt.getTime() + DURATION_S * 1000;
    const applied = await cluster.apply(manifest(fireAt));
    assert.equal(applied.code, 0, applied.stderr);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, fireAt.getTime() - 5000 - Date.now())));
    assert.equal((await service()).spec.replicas, FLOOR, 'no raise before the fire time');

    await waitFor(`${SCHEDULED} replicas ready from the schedule`, async () => (await ready()) === SCHEDULED, 120_000, 250);
    const raised = (await service()).status?.autoscale?.lastDecisions?.find((d) => d.to === SCHEDULED && d.from === FLOOR);
    assert.ok(raised, `a decision ${FLOOR} → ${SCHEDULED}: ${JSON.stringify((await service()).status?.autoscale)}`);
    assert.equal(raised.reason, 'Schedule');
    assert.ok(Date.parse(raised.time) >= fireAt.getTime(), `raised at ${raised.time}, not before the fire time ${fireAt.toISOString()}`);
    assert.match(raised.message, new RegExp(`floor ${SCHEDULED} from schedule lunch-rush until ${new Date(endAt).toISOString().replace(/\./g, '\\.')}`));

    await waitFor(`back to ${FLOOR} after the schedule`, async () => {
      const live = (await cluster.replicas('rush')).filter((r) => !r.metadata.deletionTimestamp);
      return (await service()).spec.replicas === FLOOR && live.length === FLOOR;
    }, 120_000, 250);
    const lowered = (await service()).status?.autoscale?.lastDecisions?.find((d) => d.from === SCHEDULED && d.to === FLOOR);
    assert.ok(lowered, `a decision ${SCHEDULED} → ${FLOOR}: ${JSON.stringify((await service()).status?.autoscale)}`);
    assert.ok(Date.parse(lowered.time) >= endAt, `lowered at ${lowered.time}, not before the schedule's end ${new Date(endAt).toISOString()}`);

    const events = await cluster.api<{ items: TideEvent[] }>('/api/v1/events?kind=Service&name=rush');
    assert.ok(events.items.some((e) => e.spec.reason === 'Schedule' && e.spec.message.includes('lunch-rush')), 'the raise is an Event naming the schedule');
  });
});
