/**
 * `autoscaling/v2` (and v1) HorizontalPodAutoscaler → `spec.autoscale` of the Tide Service converted
 * from the Deployment it scales: bounds, a CPU utilisation target, a requests-per-second target
 * where the metric is one, and `behavior` (the same shape in Tide).
 */
import { parseCpu } from '@tide/api';
import { ServiceDraft } from './deployment.convert';
import { convertMetadata, namespaceOf } from './meta.convert';
import { DocContext, Json, Report, Rules, applyRules, ignored, isObject, listAt, objectAt, refused } from './report';

const DOCUMENT_RULES: Rules = { apiVersion: 'use', kind: 'use', metadata: 'use', spec: 'use', status: ignored('status is what Kubernetes observed') };
const V2_RULES: Rules = { scaleTargetRef: 'use', minReplicas: 'use', maxReplicas: 'use', metrics: 'use', behavior: 'use' };
const V1_RULES: Rules = { scaleTargetRef: 'use', minReplicas: 'use', maxReplicas: 'use', targetCPUUtilizationPercentage: 'use' };
const RULES_RULES: Rules = {
  stabilizationWindowSeconds: 'use', selectPolicy: 'use', policies: 'use',
  tolerance: (v) => (v === undefined || v === 0.1 || v === '0.1' ? undefined : refused("Tide's tolerance is 10%")),
};
/** Kubernetes' default when an HPA v2 lists no metrics. */
const DEFAULT_CPU_UTILIZATION = 80;
/** Metric names read as request rates (the Prometheus adapter's and KEDA's usual names). */
const REQUESTS_METRIC = /request/i;

type Target = { field: 'targetCPUUtilizationPercentage' | 'targetRequestsPerSecond'; value: number; path: string };

export function convertHpa(report: Report, ctx: DocContext, doc: Json, drafts: ServiceDraft[]): void {
  applyRules(report, ctx, '', doc, DOCUMENT_RULES);
  const meta = convertMetadata(report, ctx, doc.metadata);
  const spec = objectAt(report, ctx, doc.spec, 'spec') ?? {};
  const v1 = doc.apiVersion === 'autoscaling/v1';
  applyRules(report, ctx, 'spec', spec, v1 ? V1_RULES : V2_RULES);
  if (!meta) return;
  const draft = scaledDraft(report, ctx, spec.scaleTargetRef, namespaceOf(meta), drafts);
  if (!draft) return;
  const autoscale: Json = { ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}), maxReplicas: spec.maxReplicas };
  const origins = draft.origins;
  origins.record('spec.autoscale', 'spec', ctx);
  const targets = v1 ? v1Target(spec) : metricTargets(report, ctx, spec.metrics, draft);
  // Every metric refused (each said why): no autoscale, rather than a second error about its missing target.
  if (targets.length === 0) return;
  for (const target of targets) {
    autoscale[target.field] = target.value;
    origins.record(`spec.autoscale.${target.field}`, target.path, ctx);
  }
  if (!v1 && spec.behavior !== undefined) autoscale.behavior = convertBehavior(report, ctx, spec.behavior);
  draft.object.spec.autoscale = autoscale;
  draft.autoscaledBy = ctx;
  clampReplicas(draft, autoscale);
  report.warn(ctx, 'spec', "scaled by Tide's own policy (a decision every second, panic mode on sudden peaks); add spec.autoscale.policy: hpa-default to the Tide service for the HPA's pace");
}

function scaledDraft(report: Report, ctx: DocContext, value: unknown, namespace: string, drafts: ServiceDraft[]): ServiceDraft | undefined {
  const ref = objectAt(report, ctx, value, 'spec.scaleTargetRef');
  if (!ref) {
    report.refuse(ctx, 'spec.scaleTargetRef', 'required: the Deployment to scale');
    return undefined;
  }
  applyRules(report, ctx, 'spec.scaleTargetRef', ref, { apiVersion: 'use', kind: 'use', name: 'use' });
  if (ref.kind !== 'Deployment' || (ref.apiVersion !== undefined && ref.apiVersion !== 'apps/v1')) {
    report.refuse(ctx, 'spec.scaleTargetRef', 'Tide scales Deployments (apps/v1) converted from this file');
    return undefined;
  }
  const draft = drafts.find((d) => d.namespace === namespace && d.meta.name === ref.name);
  if (!draft) {
    report.refuse(ctx, 'spec.scaleTargetRef.name', `no Deployment "${String(ref.name)}" in namespace "${namespace}" of this file: Tide's autoscaling is part of the service, so both go together`);
    return undefined;
  }
  if (draft.autoscaledBy) {
    report.refuse(ctx, 'spec.scaleTargetRef', `"${draft.meta.name}" is already scaled by the HPA of document ${draft.autoscaledBy.document + 1}`);
    return undefined;
  }
  return draft;
}

function v1Target(spec: Json): Target[] {
  const value = spec.targetCPUUtilizationPercentage ?? DEFAULT_CPU_UTILIZATION;
  return [{ field: 'targetCPUUtilizationPercentage', value: value as number, path: 'spec.targetCPUUtilizationPercentage' }];
}

function metricTargets(report: Report, ctx: DocContext, value: unknown, draft: ServiceDraft): Target[] {
  const metrics = listAt(report, ctx, value, 'spec.metrics');
  if (metrics.length === 0) return [{ field: 'targetCPUUtilizationPercentage', value: DEFAULT_CPU_UTILIZATION, path: 'spec' }];
  const targets: Target[] = [];
  metrics.forEach((item, k) => {
    const at = `spec.metrics[${k}]`;
    const metric = objectAt(report, ctx, item, at) ?? {};
    const target = metricTarget(report, ctx, metric, at, draft);
    if (!target) return;
    if (targets.some((t) => t.field === target.field)) return report.refuse(ctx, at, `a second ${target.field === 'targetRequestsPerSecond' ? 'requests' : 'CPU'} target: Tide has one of each`);
    targets.push(target);
  });
  return targets;
}

function metricTarget(report: Report, ctx: DocContext, metric: Json, at: string, draft: ServiceDraft): Target | undefined {
  applyRules(report, ctx, at, metric, { type: 'use', resource: 'use', containerResource: 'use', pods: 'use', object: 'use', external: 'use' });
  switch (metric.type) {
    case 'Resource':
    case 'ContainerResource': {
      const field = metric.type === 'Resource' ? 'resource' : 'containerResource';
      return resourceTarget(report, ctx, objectAt(report, ctx, metric[field], `${at}.${field}`) ?? {}, `${at}.${field}`, draft);
    }
    case 'Pods':
    case 'Object': {
      const field = metric.type === 'Pods' ? 'pods' : 'object';
      return requestsTarget(report, ctx, objectAt(report, ctx, metric[field], `${at}.${field}`) ?? {}, `${at}.${field}`);
    }
    case 'External':
      report.refuse(ctx, `${at}.type`, "Tide's autoscaler reads CPU and its balancers' request counts, not external metrics");
      return undefined;
    default:
      report.refuse(ctx, `${at}.type`, 'must be Resource, ContainerResource, Pods, Object or External');
      return undefined;
  }
}

/** CPU as a utilisation, or as an average value turned into a percentage of the container's request. */
function resourceTarget(report: Report, ctx: DocContext, resource: Json, at: string, draft: ServiceDraft): Target | undefined {
  applyRules(report, ctx, at, resource, { name: 'use', target: 'use', container: 'use' });
  if (resource.name !== 'cpu') {
    report.refuse(ctx, `${at}.name`, `Tide's autoscaler has no ${String(resource.name)} target (CPU and requests per second)`);
    return undefined;
  }
  const target = objectAt(report, ctx, resource.target, `${at}.target`) ?? {};
  applyRules(report, ctx, `${at}.target`, target, { type: 'use', averageUtilization: 'use', averageValue: 'use', value: 'use' });
  if (target.type === 'Utilization') return { field: 'targetCPUUtilizationPercentage', value: target.averageUtilization as number, path: `${at}.target.averageUtilization` };
  if (target.type !== 'AverageValue') {
    report.refuse(ctx, `${at}.target.type`, 'a CPU target is Utilization or AverageValue (per replica)');
    return undefined;
  }
  const request = (draft.object.spec.resources as Json | undefined)?.requests;
  const cpu = isObject(request) ? request.cpu : undefined;
  try {
    const percent = (parseCpu(target.averageValue as string) / parseCpu(cpu as string)) * 100;
    if (!Number.isInteger(percent)) report.warn(ctx, `${at}.target.averageValue`, `${String(target.averageValue)} of a ${String(cpu)} request is ${percent.toFixed(2)}%: Tide's target is ${Math.round(percent)}%`);
    return { field: 'targetCPUUtilizationPercentage', value: Math.round(percent), path: `${at}.target.averageValue` };
  } catch {
    report.refuse(ctx, `${at}.target.averageValue`, `Tide's CPU target is a percentage of the request: needs a CPU quantity and a CPU request on the container (got ${String(target.averageValue)}, request ${String(cpu)})`);
    return undefined;
  }
}

/** A request-rate metric averaged per pod: what Tide's balancers count on published HTTP ports. */
function requestsTarget(report: Report, ctx: DocContext, source: Json, at: string): Target | undefined {
  applyRules(report, ctx, at, source, { metric: 'use', target: 'use', describedObject: 'use' });
  const metric = objectAt(report, ctx, source.metric, `${at}.metric`) ?? {};
  applyRules(report, ctx, `${at}.metric`, metric, { name: 'use', selector: (v) => (v === undefined || (isObject(v) && Object.keys(v).length === 0) ? undefined : refused('Tide counts every request of the service')) });
  const target = objectAt(report, ctx, source.target, `${at}.target`) ?? {};
  applyRules(report, ctx, `${at}.target`, target, { type: 'use', averageValue: 'use', value: 'use', averageUtilization: 'use' });
  if (typeof metric.name !== 'string' || !REQUESTS_METRIC.test(metric.name)) {
    report.refuse(ctx, `${at}.metric.name`, `Tide's autoscaler knows CPU and requests per second; "${String(metric.name)}" is neither`);
    return undefined;
  }
  if (target.type !== 'AverageValue') {
    report.refuse(ctx, `${at}.target.type`, "Tide's requests target is per replica: use AverageValue (a total Value scales differently)");
    return undefined;
  }
  const value = decimalQuantity(target.averageValue);
  if (value === undefined) {
    report.refuse(ctx, `${at}.target.averageValue`, `"${String(target.averageValue)}" is not a quantity`);
    return undefined;
  }
  report.warn(ctx, `${at}.metric.name`, `"${metric.name}" is read as requests per second per replica, counted by Tide's balancers on published HTTP ports`);
  return { field: 'targetRequestsPerSecond', value, path: `${at}.target.averageValue` };
}

/** "100", "2.5", "500m", "1k" → the number. */
function decimalQuantity(value: unknown): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(m|k|M)?$/.exec(String(value).trim());
  if (!match) return undefined;
  const scale = { m: 1e-3, k: 1e3, M: 1e6 }[match[2] as 'm' | 'k' | 'M'] ?? 1;
  return Number(match[1]) * scale;
}

function convertBehavior(report: Report, ctx: DocContext, value: unknown): Json | undefined {
  const behavior = objectAt(report, ctx, value, 'spec.behavior');
  if (!behavior) return undefined;
  applyRules(report, ctx, 'spec.behavior', behavior, { scaleUp: 'use', scaleDown: 'use' });
  const out: Json = {};
  for (const direction of ['scaleUp', 'scaleDown']) {
    const rules = objectAt(report, ctx, behavior[direction], `spec.behavior.${direction}`);
    if (!rules) continue;
    applyRules(report, ctx, `spec.behavior.${direction}`, rules, RULES_RULES);
    const { tolerance: _tolerance, ...kept } = rules;
    out[direction] = kept;
  }
  return out;
}

/** Tide takes `replicas` with autoscale as the initial count within the bounds; the HPA would clamp it at once anyway. */
function clampReplicas(draft: ServiceDraft, autoscale: Json): void {
  const replicas = draft.object.spec.replicas;
  const min = typeof autoscale.minReplicas === 'number' ? autoscale.minReplicas : 1;
  const max = typeof autoscale.maxReplicas === 'number' ? autoscale.maxReplicas : undefined;
  if (typeof replicas !== 'number' || max === undefined) return;
  draft.object.spec.replicas = Math.min(max, Math.max(min, replicas));
}
