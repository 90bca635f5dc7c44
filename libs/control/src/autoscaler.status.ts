/**
 * `status.autoscale`, what `tsctl describe` shows of an autoscaled Service: a pure function of the
 * autoscaler's decision, the scale it led to (if any) and the stored status it follows.
 */
import { AutoscaleDecision, AutoscaleStatus } from '@tide/api';
import { Decision } from '@tide/autoscaler';

/** How many of the latest scale decisions the status keeps. */
export const DECISIONS_KEPT = 5;

export function autoscaleStatus(decision: Decision, record: AutoscaleDecision | undefined, previous: AutoscaleStatus | undefined): AutoscaleStatus {
  const cpu = decision.metrics.find((m) => m.metric === 'cpu');
  const requests = decision.metrics.find((m) => m.metric === 'requests');
  const schedule = decision.floor.schedule;
  return {
    observedAt: new Date(decision.atMs).toISOString(), currentReplicas: decision.current, desiredReplicas: decision.desired,
    floor: decision.floor.replicas,
    ...(schedule ? { activeSchedule: { cron: schedule.source, ...(schedule.name ? { name: schedule.name } : {}), until: new Date(schedule.untilMs).toISOString() } } : {}),
    measuredReplicas: Math.max(cpu?.replicas ?? 0, requests?.replicas ?? 0),
    ...(cpu ? { cpuUtilizationPercentage: Math.round(cpu.observed * 1000) / 10 } : {}),
    ...(requests ? { requestsPerSecond: Math.round(requests.observed * 10) / 10 } : {}),
    ...(decision.panicUntilMs !== undefined ? { panicUntil: new Date(decision.panicUntilMs).toISOString() } : {}),
    ...(decision.predicted ? { predictedReplicas: decision.predicted.replicas } : {}),
    ...(record ? { lastScaleTime: record.time } : previous?.lastScaleTime ? { lastScaleTime: previous.lastScaleTime } : {}),
    lastDecisions: [...(previous?.lastDecisions ?? []), ...(record ? [record] : [])].slice(-DECISIONS_KEPT),
  };
}
