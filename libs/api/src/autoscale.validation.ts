/** Validation of `spec.autoscale` (types.ts AutoscaleSpec), every error with its field path. */
import { CronError, isTimeZone, parseCron } from './cron';
import type { Checker } from './field.checker';

type Json = Record<string, unknown>;

const AUTOSCALE_FIELDS = [
  'minReplicas', 'maxReplicas', 'targetCPUUtilizationPercentage', 'targetRequestsPerSecond', 'policy', 'behavior', 'panic', 'schedules', 'predictive',
];
const MAX_REPLICAS = 10_000;
/** Kubernetes HPA's bounds for stabilisation windows and policy periods. */
const MAX_WINDOW_SECONDS = 3600;
const MAX_PERIOD_SECONDS = 1800;
const MAX_SCHEDULE_SECONDS = 31 * 86_400;

export function checkAutoscale(c: Checker, autoscale: unknown, spec: Json): void {
  const path = 'spec.autoscale';
  if (!c.isObject(autoscale, path)) return;
  c.onlyKnown(autoscale, path, AUTOSCALE_FIELDS);
  const max = autoscale.maxReplicas === undefined
    ? (c.fail(`${path}.maxReplicas`, 'required: the most replicas the autoscaler may run'), undefined)
    : c.integer(autoscale.maxReplicas, `${path}.maxReplicas`, 1, MAX_REPLICAS) ? autoscale.maxReplicas : undefined;
  const min = autoscale.minReplicas === undefined ? 1
    : c.integer(autoscale.minReplicas, `${path}.minReplicas`, 1, MAX_REPLICAS) ? autoscale.minReplicas : undefined;
  if (min !== undefined && max !== undefined && min > max) c.fail(`${path}.minReplicas`, `must not exceed maxReplicas (${min} > ${max})`);
  if (typeof spec.replicas === 'number' && min !== undefined && max !== undefined && (spec.replicas < min || spec.replicas > max)) {
    c.fail('spec.replicas', `with autoscale it is the initial count and must be between minReplicas and maxReplicas (${min}-${max}); leave it out to start at minReplicas`);
  }
  checkTargets(c, autoscale, spec);
  if (autoscale.policy !== undefined) c.oneOf(autoscale.policy, `${path}.policy`, ['tide', 'hpa-default']);
  if (autoscale.behavior !== undefined && c.isObject(autoscale.behavior, `${path}.behavior`)) {
    c.onlyKnown(autoscale.behavior, `${path}.behavior`, ['scaleUp', 'scaleDown']);
    for (const direction of ['scaleUp', 'scaleDown']) {
      const rules = autoscale.behavior[direction];
      if (rules !== undefined) checkRules(c, rules, `${path}.behavior.${direction}`);
    }
  }
  if (autoscale.panic !== undefined) checkPanic(c, autoscale.panic, autoscale.policy);
  if (autoscale.schedules !== undefined) checkSchedules(c, autoscale.schedules, max);
  if (autoscale.predictive !== undefined) checkPredictive(c, autoscale.predictive, autoscale.policy);
}

function checkTargets(c: Checker, autoscale: Json, spec: Json): void {
  const path = 'spec.autoscale';
  const cpu = autoscale.targetCPUUtilizationPercentage;
  const rps = autoscale.targetRequestsPerSecond;
  if (cpu === undefined && rps === undefined) {
    c.fail(path, 'needs a target: targetCPUUtilizationPercentage and/or targetRequestsPerSecond');
  }
  if (cpu !== undefined && c.integer(cpu, `${path}.targetCPUUtilizationPercentage`, 1, 1000) && !hasCpuRequest(spec)) {
    c.fail(`${path}.targetCPUUtilizationPercentage`, 'utilisation is measured against the CPU request: set spec.resources.requests.cpu');
  }
  if (rps !== undefined) {
    if (typeof rps !== 'number' || !(rps > 0) || !Number.isFinite(rps)) c.fail(`${path}.targetRequestsPerSecond`, 'must be a number above 0 (requests per second per replica)');
    else if (!hasPublishedHttpPort(spec)) {
      c.fail(`${path}.targetRequestsPerSecond`, 'requests are counted by the node balancers on published HTTP ports: give a port "publish" and "protocol: HTTP"');
    }
  }
}

function hasCpuRequest(spec: Json): boolean {
  const resources = spec.resources as { requests?: Json; limits?: Json } | undefined;
  // A limit alone is also the request (template.ts), as in Kubernetes.
  return resources?.requests?.cpu !== undefined || resources?.limits?.cpu !== undefined;
}

function hasPublishedHttpPort(spec: Json): boolean {
  return Array.isArray(spec.ports) && spec.ports.some((p: Json | null) => p?.publish !== undefined && p?.protocol === 'HTTP');
}

function checkRules(c: Checker, rules: unknown, path: string): void {
  if (!c.isObject(rules, path)) return;
  c.onlyKnown(rules, path, ['stabilizationWindowSeconds', 'selectPolicy', 'policies']);
  if (rules.stabilizationWindowSeconds !== undefined) c.integer(rules.stabilizationWindowSeconds, `${path}.stabilizationWindowSeconds`, 0, MAX_WINDOW_SECONDS);
  if (rules.selectPolicy !== undefined) c.oneOf(rules.selectPolicy, `${path}.selectPolicy`, ['Max', 'Min', 'Disabled']);
  if (rules.policies === undefined) return;
  if (!Array.isArray(rules.policies)) return c.fail(`${path}.policies`, 'must be a list of {type: Pods|Percent, value, periodSeconds}');
  rules.policies.forEach((policy, i) => {
    const at = `${path}.policies[${i}]`;
    if (!c.isObject(policy, at)) return;
    c.onlyKnown(policy, at, ['type', 'value', 'periodSeconds']);
    c.oneOf(policy.type, `${at}.type`, ['Pods', 'Percent']);
    c.integer(policy.value, `${at}.value`, 1);
    c.integer(policy.periodSeconds, `${at}.periodSeconds`, 1, MAX_PERIOD_SECONDS);
  });
}

function checkPanic(c: Checker, panic: unknown, policy: unknown): void {
  const path = 'spec.autoscale.panic';
  if (!c.isObject(panic, path)) return;
  if (policy === 'hpa-default') c.fail(path, 'the hpa-default policy has no panic mode (leave panic out, or use policy: tide)');
  c.onlyKnown(panic, path, ['windowSeconds', 'thresholdPercentage']);
  if (panic.windowSeconds !== undefined) c.integer(panic.windowSeconds, `${path}.windowSeconds`, 1, 600);
  if (panic.thresholdPercentage !== undefined) c.integer(panic.thresholdPercentage, `${path}.thresholdPercentage`, 110, 1000);
}

function checkPredictive(c: Checker, predictive: unknown, policy: unknown): void {
  const path = 'spec.autoscale.predictive';
  if (!c.isObject(predictive, path)) return;
  if (policy === 'hpa-default') c.fail(path, 'the hpa-default policy has no predictive mode (leave predictive out, or use policy: tide)');
  c.onlyKnown(predictive, path, ['horizonSeconds']);
  if (predictive.horizonSeconds !== undefined) c.integer(predictive.horizonSeconds, `${path}.horizonSeconds`, 1, 3600);
}

function checkSchedules(c: Checker, schedules: unknown, max: number | undefined): void {
  const path = 'spec.autoscale.schedules';
  if (!Array.isArray(schedules)) return c.fail(path, 'must be a list of {cron, minReplicas, durationSeconds}');
  schedules.forEach((schedule, i) => {
    const at = `${path}[${i}]`;
    if (!c.isObject(schedule, at)) return;
    c.onlyKnown(schedule, at, ['name', 'cron', 'timeZone', 'minReplicas', 'durationSeconds']);
    if (schedule.name !== undefined) c.string(schedule.name, `${at}.name`);
    if (schedule.cron === undefined) c.fail(`${at}.cron`, 'required: five fields, e.g. "0 0 11 11 *" (minute hour day-of-month month day-of-week)');
    else if (c.string(schedule.cron, `${at}.cron`)) {
      try {
        parseCron(schedule.cron);
      } catch (error) {
        if (!(error instanceof CronError)) throw error;
        c.fail(`${at}.cron`, error.message);
      }
    }
    if (schedule.timeZone !== undefined && c.string(schedule.timeZone, `${at}.timeZone`) && !isTimeZone(schedule.timeZone)) {
      c.fail(`${at}.timeZone`, `unknown time zone "${schedule.timeZone}" (an IANA name such as UTC or Europe/Paris)`);
    }
    if (c.integer(schedule.minReplicas, `${at}.minReplicas`, 1, MAX_REPLICAS) && max !== undefined && schedule.minReplicas > max) {
      c.fail(`${at}.minReplicas`, `must not exceed maxReplicas (${schedule.minReplicas} > ${max})`);
    }
    c.integer(schedule.durationSeconds, `${at}.durationSeconds`, 60, MAX_SCHEDULE_SECONDS);
  });
}
