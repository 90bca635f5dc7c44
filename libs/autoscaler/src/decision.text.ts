/** A decision in words, with the numbers behind it (Event messages, `tsctl describe`). */
import { Decision } from './autoscaler';
import { ResolvedPolicy } from './policy';
import { MetricRecommendation } from './recommendation';

function metricText(m: MetricRecommendation, tolerance: number): string {
  const held = m.unchanged === 'tolerance' ? ` (within the ${percent(tolerance)} tolerance)` : m.unchanged === 'direction' ? ' (the assumed usage would reverse the direction)' : '';
  if (m.metric === 'cpu') {
    return `cpu ${percent(m.observed)} of the request over ${m.replicas} replica(s)${assumedText(m)} (target ${percent(m.target)}) → ${m.recommendation}${held}`;
  }
  return `requests ${round(m.observed)}/s per replica over ${m.replicas} (target ${round(m.target)}/s) → ${m.recommendation}${held}`;
}

/** The HPA's assumptions about the replicas it has no usable sample of. */
function assumedText(m: MetricRecommendation): string {
  if (!m.assumed) return '';
  const parts = [
    ...(m.assumed.notReady ? [`${m.assumed.notReady} not ready at 0%`] : []),
    ...(m.assumed.missing ? [`${m.assumed.missing} without a sample at ${m.ratio < 1 ? percent(Math.max(1, m.target)) : '0%'}`] : []),
  ];
  return parts.length ? ` + ${parts.join(' + ')}` : '';
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** `policy`: the one the decision was taken under (its tolerance band and panic threshold are quoted). */
export function decisionText(d: Decision, policy: Pick<ResolvedPolicy, 'tolerance' | 'panic'>): string {
  const parts = [
    `${d.current} → ${d.desired} replicas (${d.reason})`,
    d.metrics.length ? d.metrics.map((m) => metricText(m, policy.tolerance)).join('; ') : 'no metrics yet',
  ];
  if (d.panicUntilMs !== undefined) {
    const why = policy.panic ? ` (a reading at ≥ ${percent(policy.panic.threshold)} of the target)` : '';
    parts.push(`panic until ${new Date(d.panicUntilMs).toISOString()}${why}: straight to the highest need seen, within the ${percent(policy.tolerance)} tolerance, no scale-down`);
  }
  if (d.predicted) parts.push(`forecast ${d.predicted.replicas} (from ${d.predicted.basis ?? 'the load now'})`);
  if (d.limitedBy) parts.push(`held by ${d.limitedBy}`);
  parts.push(d.floor.schedule
    ? `floor ${d.floor.replicas} from schedule ${d.floor.schedule.name ?? `"${d.floor.schedule.source}"`} until ${new Date(d.floor.schedule.untilMs).toISOString()}`
    : `floor ${d.floor.replicas}`);
  return parts.join('; ');
}
