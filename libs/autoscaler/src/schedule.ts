/**
 * Scheduled floors: a schedule is active from each time its cron expression fires until
 * `durationMs` later; the floor is the highest of minReplicas and every active schedule's.
 */
import { nextFireTime, previousFireTime } from '@tide/api';
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

/**
 * The highest floor of the next `leadMs`: the floor now or a schedule that fires within the lead.
 * The node autoscaler asks it a node's boot time ahead, so that the nodes a scheduled peak needs
 * are Ready when its floor fires and its replicas start at once.
 */
export function floorAhead(policy: ResolvedPolicy, nowMs: number, leadMs: number): Floor {
  let floor = floorAt(policy, nowMs);
  for (const schedule of policy.schedules) {
    if (schedule.minReplicas <= floor.replicas) continue;
    const fires = nextFireTime(schedule.cron, schedule.timeZone, nowMs, leadMs);
    if (fires === undefined || fires > nowMs + leadMs) continue;
    floor = {
      replicas: schedule.minReplicas,
      schedule: { source: schedule.cron.source, ...(schedule.name ? { name: schedule.name } : {}), untilMs: fires + schedule.durationMs },
    };
  }
  return floor;
}

/** One coming time a schedule raises the floor: from `startMs` for its duration. */
export interface ScheduledFloor {
  name?: string;
  cron: string;
  timeZone: string;
  replicas: number;
  startMs: number;
  endMs: number;
}

/**
 * The floors the schedules will raise within `horizonMs` after now, soonest first, at most
 * `perSchedule` of each (the dashboard lists them; a schedule active now is in the status, not here).
 */
export function scheduledFloors(policy: ResolvedPolicy, nowMs: number, horizonMs: number, perSchedule = 2): ScheduledFloor[] {
  const floors: ScheduledFloor[] = [];
  for (const schedule of policy.schedules) {
    let after = nowMs;
    for (let i = 0; i < perSchedule; i++) {
      const startMs = nextFireTime(schedule.cron, schedule.timeZone, after, nowMs + horizonMs - after);
      if (startMs === undefined || startMs > nowMs + horizonMs) break;
      floors.push({
        ...(schedule.name ? { name: schedule.name } : {}), cron: schedule.cron.source, timeZone: schedule.timeZone,
        replicas: schedule.minReplicas, startMs, endMs: startMs + schedule.durationMs,
      });
      after = startMs;
    }
  }
  return floors.sort((a, b) => a.startMs - b.startMs);
}
