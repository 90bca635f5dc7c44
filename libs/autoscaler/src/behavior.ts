/**
 * Kubernetes HPA v2 behavior, as pure functions of the autoscaler's history: stabilisation windows
 * over past recommendations and step limits over past scale events
 * (pkg/controller/podautoscaler/horizontal.go: stabilizeRecommendationWithBehaviors,
 * calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors).
 */
import { DirectionRules } from './policy';

export interface TimedRecommendation {
  atMs: number;
  replicas: number;
}

export interface ScaleEvent {
  atMs: number;
  /** Replicas added (positive) or removed (negative). */
  change: number;
}

/**
 * Up: the lowest recommendation of the up window (0 s: the current one), so a brief rise only
 * counts once it has lasted the window. Down: the highest of the down window, so the count only
 * falls once the load has stayed low for the whole window. `current` stays where both agree.
 */
export function stabilize(current: number, recommendation: number, history: TimedRecommendation[], nowMs: number, up: DirectionRules, down: DirectionRules): number {
  let upRecommendation = recommendation;
  let downRecommendation = recommendation;
  for (const past of history) {
    if (past.atMs > nowMs - up.windowMs) upRecommendation = Math.min(upRecommendation, past.replicas);
    if (past.atMs > nowMs - down.windowMs) downRecommendation = Math.max(downRecommendation, past.replicas);
  }
  if (current < upRecommendation) return upRecommendation;
  if (current > downRecommendation) return downRecommendation;
  return current;
}

function changeWithin(events: ScaleEvent[], nowMs: number, periodMs: number, sign: 1 | -1): number {
  return events.filter((e) => e.atMs > nowMs - periodMs && Math.sign(e.change) === sign).reduce((sum, e) => sum + Math.abs(e.change), 0);
}

/** The most replicas the scale-up policies allow now (never below current). */
export function scaleUpLimit(current: number, events: ScaleEvent[], nowMs: number, rules: DirectionRules): number {
  if (rules.selectPolicy === 'Disabled') return current;
  if (rules.policies.length === 0) return Infinity;
  let limit = rules.selectPolicy === 'Min' ? Infinity : -Infinity;
  for (const policy of rules.policies) {
    // The count at the start of the policy's period: changes made within it are taken back.
    const start = current - changeWithin(events, nowMs, policy.periodMs, 1) + changeWithin(events, nowMs, policy.periodMs, -1);
    const proposed = policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    limit = rules.selectPolicy === 'Min' ? Math.min(limit, proposed) : Math.max(limit, proposed);
  }
  return Math.max(limit, current);
}

/** The fewest replicas the scale-down policies allow now (never above current). */
export function scaleDownLimit(current: number, events: ScaleEvent[], nowMs: number, rules: DirectionRules): number {
  if (rules.selectPolicy === 'Disabled') return current;
  if (rules.policies.length === 0) return 0;
  let limit = rules.selectPolicy === 'Min' ? -Infinity : Infinity;
  for (const policy of rules.policies) {
    const start = current + changeWithin(events, nowMs, policy.periodMs, -1) - changeWithin(events, nowMs, policy.periodMs, 1);
    const proposed = policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
    // Max: the policy allowing the biggest change, i.e. the lowest count.
    limit = rules.selectPolicy === 'Min' ? Math.max(limit, proposed) : Math.min(limit, proposed);
  }
  return Math.min(limit, current);
}
