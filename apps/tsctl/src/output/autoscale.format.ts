/** The autoscale part of `tsctl describe service`: bounds and targets, what it sees now, the last decisions. */
import { AutoscaleSpec, AutoscaleStatus, Service } from '@tide/api';
import { fields, formatAge, formatTable, indent } from './table';

function targetsText(a: AutoscaleSpec): string {
  return [
    a.targetCPUUtilizationPercentage !== undefined ? `cpu ${a.targetCPUUtilizationPercentage}% of the request` : undefined,
    a.targetRequestsPerSecond !== undefined ? `${a.targetRequestsPerSecond} requests/s per replica` : undefined,
  ].filter(Boolean).join(', ');
}

function metricsText(a: AutoscaleSpec, st: AutoscaleStatus, nowMs?: number): string {
  const parts = [
    st.cpuUtilizationPercentage !== undefined ? `cpu ${st.cpuUtilizationPercentage}% of the request (target ${a.targetCPUUtilizationPercentage}%)` : undefined,
    st.requestsPerSecond !== undefined ? `${st.requestsPerSecond} requests/s per replica (target ${a.targetRequestsPerSecond})` : undefined,
  ].filter(Boolean);
  const measured = parts.length ? `${parts.join(', ')} over ${st.measuredReplicas} replica(s)` : '<no data yet>';
  return `${measured}, ${formatAge(st.observedAt, nowMs)} ago`;
}

function stateText(st: AutoscaleStatus): string {
  const floor = st.activeSchedule
    ? `floor ${st.floor} from schedule ${st.activeSchedule.name ?? `"${st.activeSchedule.cron}"`} until ${st.activeSchedule.until}`
    : `floor ${st.floor}`;
  return [`${st.currentReplicas} current, ${st.desiredReplicas} desired`, floor, st.panicUntil ? `PANIC until ${st.panicUntil}` : undefined].filter(Boolean).join('; ');
}

export function autoscaleSection(s: Service, nowMs?: number): string[] {
  const a = s.spec.autoscale;
  if (!a) return [];
  const st = s.status?.autoscale;
  const down = a.behavior?.scaleDown?.stabilizationWindowSeconds;
  const lines = fields([
    ['Autoscale', `${a.minReplicas ?? 1}-${a.maxReplicas} replicas, policy ${a.policy ?? 'tide'}`],
    ['  Targets', targetsText(a)],
    ['  Scale-down window', down !== undefined ? `${down}s` : '300s (default)'],
    ['  Schedules', (a.schedules ?? []).map((x) => `${x.name ? `${x.name} ` : ''}"${x.cron}"${x.timeZone ? ` ${x.timeZone}` : ''}: ${x.minReplicas} for ${x.durationSeconds}s`).join('; ') || undefined],
    ['  Now', st ? stateText(st) : '<not observed yet>'],
    ['  Metrics', st ? metricsText(a, st, nowMs) : undefined],
  ]);
  const decisions = st?.lastDecisions ?? [];
  if (decisions.length === 0) return [...lines, '  Last decisions:  <none>'];
  const rows = [...decisions].reverse().map((d) => [formatAge(d.time, nowMs), `${d.from} → ${d.to}`, d.reason, d.message]);
  return [...lines, '  Last decisions:', indent(formatTable(['AGE', 'SCALE', 'REASON', 'WHY'], rows), '    ')];
}
