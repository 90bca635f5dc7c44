/**
 * Scheduled floors: a schedule is active from each time its cron expression fires until
 * `durationMs` later; the floor is the highest of minReplicas and every active schedule's.
 */
import { previousFireTime } from '@tide/api';
import { ResolvedPolicy, ResolvedSchedule } from './policy';

export interface Floor {
  replicas: number;
  /** The active schedule that sets the floor (the one ending last among equals). */
  schedule?: { source: string; name?: string; untilMs: number };
}

export function activeUntil(schedule: ResolvedSchedule, nowMs: number): number | undefined {
  // A fire time exactly durationMs ago has just ended, so the search starts one millisecond later.
  const fired = previousFireTime(schedule.cron, schedule.timeZone, nowMs, nowMs - schedule.durationMs + 1);
  return fired === undefined ? undefined : fired + schedule.durationMs;
}

export function floorAt(policy: ResolvedPolicy, nowMs: number): Floor {
  let floor: Floor = { replicas: policy.minReplicas };
  for (const schedule of policy.schedules) {
    const untilMs = activeUntil(schedule, nowMs);
    if (untilMs === undefined || schedule.minReplicas < floor.replicas) continue;
    if (floor.schedule && schedule.minReplicas === floor.replicas && untilMs <= floor.schedule.untilMs) continue;
    floor = {
      replicas: schedule.minReplicas,
      schedule: { source: schedule.cron.source, ...(schedule.name ? { name: schedule.name } : {}), untilMs },
    };
  }
  return floor;
}
