/**
 * Rolling updates: `spec.update` validated with field paths, its limits resolved against a replica
 * count (Kubernetes' arithmetic), and the part of a spec a revision keeps.
 */
import { Checker, describe } from './field.checker';
import { ServiceSpec, ServiceTemplateSpec, UpdateStrategy } from './types';

export const DEFAULT_MAX_SURGE = '25%';
/**
 * 0, not Kubernetes' 25%: an old replica goes only once its replacement is ready, so a web tier
 * never serves with less than its full capacity (with 25% a 4-replica tier drops to 3 at once).
 * The cost is room for the surge replicas; without it the rollout waits (and is reported stuck).
 */
export const DEFAULT_MAX_UNAVAILABLE = 0;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 60;
/** Revisions kept per Service (the current one always). */
export const REVISION_HISTORY_LIMIT = 10;

/** Spec fields that are not the replicas' template: a revision does not keep them and an undo does not change them. */
const NOT_TEMPLATE = ['replicas', 'update', 'autoscale'];

const PERCENT = /^([0-9]{1,3})%$/;

export interface RolloutLimits {
  maxSurge: number;
  maxUnavailable: number;
  progressDeadlineSeconds: number;
}

export function checkUpdate(c: Checker, update: unknown): void {
  const path = 'spec.update';
  if (!c.isObject(update, path)) return;
  c.onlyKnown(update, path, ['maxSurge', 'maxUnavailable', 'progressDeadlineSeconds']);
  const surge = update.maxSurge === undefined ? undefined : intOrPercent(c, update.maxSurge, `${path}.maxSurge`);
  const unavailable = update.maxUnavailable === undefined ? undefined : intOrPercent(c, update.maxUnavailable, `${path}.maxUnavailable`);
  if (unavailable !== undefined && unavailable.percent && unavailable.value > 100) {
    c.fail(`${path}.maxUnavailable`, `must be at most 100%, got "${update.maxUnavailable as string}"`);
  }
  // As Kubernetes: with neither surge nor unavailability the rollout could never move.
  if (surge?.value === 0 && (unavailable?.value ?? DEFAULT_MAX_UNAVAILABLE) === 0) {
    c.fail(`${path}.maxUnavailable`, 'must not be 0 when maxSurge is 0: the rollout could neither add nor remove a replica');
  }
  if (update.progressDeadlineSeconds !== undefined) c.integer(update.progressDeadlineSeconds, `${path}.progressDeadlineSeconds`, 1, 86_400);
}

function intOrPercent(c: Checker, value: unknown, path: string): { value: number; percent: boolean } | undefined {
  if (typeof value === 'number') return c.integer(value, path, 0, 10_000) ? { value, percent: false } : undefined;
  const match = typeof value === 'string' ? PERCENT.exec(value) : null;
  if (match) return { value: Number(match[1]), percent: true };
  c.fail(path, `must be an integer ≥ 0 or a percentage such as "25%", got ${describe(value)}`);
  return undefined;
}

function resolve(value: number | string, desired: number, round: (x: number) => number): number {
  if (typeof value === 'number') return value;
  return round((Number(PERCENT.exec(value)?.[1] ?? 0) * desired) / 100);
}

/** Surge rounded up, unavailability down (Kubernetes); both 0 (e.g. 25% of 0) lets one go, as Kubernetes does. */
export function rolloutLimits(update: UpdateStrategy | undefined, desired: number): RolloutLimits {
  const maxSurge = resolve(update?.maxSurge ?? DEFAULT_MAX_SURGE, desired, Math.ceil);
  let maxUnavailable = Math.min(desired, resolve(update?.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE, desired, Math.floor));
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, progressDeadlineSeconds: update?.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS };
}

/** What a revision keeps of a spec: everything its replicas run. */
export function templateSpecOf(spec: ServiceSpec): ServiceTemplateSpec {
  const copy: Record<string, unknown> = structuredClone({ ...spec });
  for (const field of NOT_TEMPLATE) delete copy[field];
  return copy as ServiceTemplateSpec;
}

/** `current` running the template of a revision: its own count, update limits (and autoscaling) stay. */
export function specWithTemplate(current: ServiceSpec, template: ServiceTemplateSpec): ServiceSpec {
  const kept: Record<string, unknown> = {};
  for (const field of NOT_TEMPLATE) if ((current as unknown as Record<string, unknown>)[field] !== undefined) kept[field] = (current as unknown as Record<string, unknown>)[field];
  return { ...structuredClone(template), ...kept } as ServiceSpec;
}
