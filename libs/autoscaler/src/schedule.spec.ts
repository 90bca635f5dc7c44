import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AutoscaleSpec } from '@tide/api';
import { ServiceAutoscaler } from './autoscaler';
import { resolvePolicy } from './policy';
import { floorAhead, floorAt, scheduledFloors } from './schedule';

const at = (iso: string) => Date.parse(iso);

// Singles' Day: 20 replicas from midnight on 11 November (Shanghai time) for two hours.
const SPEC: AutoscaleSpec = {
  minReplicas: 2, maxReplicas: 30, targetCPUUtilizationPercentage: 50,
  schedules: [{ name: 'singles-day', cron: '0 0 11 11 *', timeZone: 'Asia/Shanghai', minReplicas: 20, durationSeconds: 7200 }],
};

describe('scheduled floors', () => {
  const policy = resolvePolicy(SPEC);
  // Midnight in Shanghai (UTC+8) is 16:00 UTC the day before; two hours later is 18:00 UTC.
  const table: [string, string, number][] = [
    ['a minute before', '2025-11-10T15:59:00Z', 2],
    ['at the cron time', '2025-11-10T16:00:00Z', 20],
    ['during', '2025-11-10T17:30:00Z', 20],
    ['the last second', '2025-11-10T17:59:59Z', 20],
    ['after the duration', '2025-11-10T18:00:00Z', 2],
    ['a year later', '2026-11-10T16:00:30Z', 20],
  ];
  for (const [name, time, floor] of table) {
    it(`${name} (${time}): floor ${floor}`, () => assert.equal(floorAt(policy, at(time)).replicas, floor));
  }

  it('the highest active schedule wins, and says until when', () => {
    const two = resolvePolicy({ ...SPEC, schedules: [...SPEC.schedules!, { cron: '30 16 * * *', minReplicas: 25, durationSeconds: 600 }] });
    const floor = floorAt(two, at('2025-11-10T16:35:00Z'));
    assert.deepEqual(floor, { replicas: 25, schedule: { source: '30 16 * * *', untilMs: at('2025-11-10T16:40:00Z') } });
  });

  it('with an injected clock, the autoscaler raises the floor at the cron time and gives it back after the duration', () => {
    const scaler = new ServiceAutoscaler(0, 2);
    let replicas = 2;
    const start = at('2025-11-10T15:59:58Z');
    const seen: [string, number, string][] = [];
    // Light load (one replica's worth) throughout: only the schedule moves the count.
    for (let t = start; t <= at('2025-11-10T18:00:02Z'); t += 1000) {
      const d = scaler.observe(policy, { atMs: t, cpu: { replicas, usedCores: 0.05, requestedCores: replicas * 0.1 } }, replicas)!;
      if (d.desired !== replicas) seen.push([new Date(t).toISOString(), d.desired, d.reason]);
      replicas = d.desired;
    }
    assert.deepEqual(seen, [
      ['2025-11-10T16:00:00.000Z', 20, 'Schedule'],
      // The load's recommendation stayed at 1-2 all along, so once the floor is gone the count falls
      // to minReplicas at once (0.05 cores over 20 replicas: ratio 0.05 → ceil(20 × 0.05) = 1, floor 2).
      ['2025-11-10T18:00:00.000Z', 2, 'ScaleDown'],
    ]);
  });
});

describe('floorAhead (the node autoscaler looks a boot time ahead)', () => {
  const policy = resolvePolicy(SPEC);
  const boot = 90_000;
  const table: [string, string, number][] = [
    ['long before: the floor now', '2025-11-10T15:00:00Z', 2],
    ['90 s before the cron time: the schedule ahead', '2025-11-10T15:58:30Z', 20],
    ['91 s before: not yet', '2025-11-10T15:58:29Z', 2],
    ['during: the active schedule', '2025-11-10T17:00:00Z', 20],
    ['after the duration', '2025-11-10T18:00:00Z', 2],
  ];
  for (const [name, iso, floor] of table) {
    it(`${name} (${iso}) → ${floor}`, () => assert.equal(floorAhead(policy, at(iso), boot).replicas, floor));
  }
  it('names the schedule and when it ends', () => {
    const ahead = floorAhead(policy, at('2025-11-10T15:59:00Z'), boot);
    assert.deepEqual(ahead.schedule, { source: '0 0 11 11 *', name: 'singles-day', untilMs: at('2025-11-10T18:00:00Z') });
  });
});

describe('scheduledFloors (the dashboard lists the floors ahead)', () => {
  it('lists each schedule\'s next fire times within the horizon, soonest first', () => {
    const policy = resolvePolicy({
      ...SPEC,
      schedules: [...SPEC.schedules!, { name: 'lunch', cron: '0 12 * * *', minReplicas: 6, durationSeconds: 3600 }],
    });
    // From 1 November 2025 (UTC) over 12 days: lunch at noon UTC on the 1st and the 2nd (two per schedule),
    // Singles' Day at 16:00 UTC on the 10th (midnight in Shanghai).
    const floors = scheduledFloors(policy, at('2025-11-01T08:00:00Z'), 12 * 86_400_000);
    assert.deepEqual(floors.map((f) => [f.name, new Date(f.startMs).toISOString(), new Date(f.endMs).toISOString(), f.replicas]), [
      ['lunch', '2025-11-01T12:00:00.000Z', '2025-11-01T13:00:00.000Z', 6],
      ['lunch', '2025-11-02T12:00:00.000Z', '2025-11-02T13:00:00.000Z', 6],
      ['singles-day', '2025-11-10T16:00:00.000Z', '2025-11-10T18:00:00.000Z', 20],
    ]);
    assert.deepEqual(scheduledFloors(policy, at('2025-11-01T08:00:00Z'), 86_400_000).map((f) => f.name), ['lunch'], 'a day ahead: lunch only');
  });
});
