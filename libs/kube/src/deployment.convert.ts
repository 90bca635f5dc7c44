/** `apps/v1 Deployment` → a draft tide/v1 Service, which Services and HPAs of the file then complete. */
import { Labels, checkSelector, labelsAt, selectorMatches } from './labels';
import { Meta, convertMetadata, namespaceOf, tideMetadata } from './meta.convert';
import { OriginRecorder } from './origin';
import { convertPodSpec } from './pod.convert';
import { DocContext, Json, Report, Rules, applyRules, ignored, objectAt, onlyDefault } from './report';

const DOCUMENT_RULES: Rules = { apiVersion: 'use', kind: 'use', metadata: 'use', spec: 'use', status: ignored('status is what Kubernetes observed') };
const SPEC_RULES: Rules = {
  replicas: 'use', selector: 'use', template: 'use', strategy: 'use', progressDeadlineSeconds: 'use',
  minReadySeconds: onlyDefault([0], 'a Tide replica is available as soon as it is ready'),
  revisionHistoryLimit: ignored('Tide keeps the last 10 revisions of a service'),
  paused: onlyDefault([false], 'a Tide rollout cannot be paused'),
};
const STRATEGY_RULES: Rules = { type: 'use', rollingUpdate: 'use' };

/** A Tide Service being built from a Deployment, and what the other documents need to complete it. */
export interface ServiceDraft {
  ctx: DocContext;
  meta: Meta;
  namespace: string;
  /** The pod template's labels, which Services select. */
  podLabels: Labels;
  /** Labels some selector used (the others are reported as not kept). */
  usedLabels: Set<string>;
  portNames: Map<string, number>;
  claims: string[];
  object: { apiVersion: 'tide/v1'; kind: 'Service'; metadata: Json; spec: Json };
  origins: OriginRecorder;
  /** The HPA that completed `spec.autoscale`, if any. */
  autoscaledBy?: DocContext;
}

export function convertDeployment(report: Report, ctx: DocContext, doc: Json): ServiceDraft | undefined {
  applyRules(report, ctx, '', doc, DOCUMENT_RULES);
  const meta = convertMetadata(report, ctx, doc.metadata);
  const spec = objectAt(report, ctx, doc.spec, 'spec') ?? {};
  applyRules(report, ctx, 'spec', spec, SPEC_RULES);
  const template = objectAt(report, ctx, spec.template, 'spec.template') ?? {};
  applyRules(report, ctx, 'spec.template', template, { metadata: 'use', spec: 'use' });
  const templateMeta = objectAt(report, ctx, template.metadata, 'spec.template.metadata') ?? {};
  applyRules(report, ctx, 'spec.template.metadata', templateMeta, {
    labels: 'use', annotations: (v) => (v && Object.keys(v).length ? ignored('Tide keeps no annotations') : undefined),
    name: ignored('Tide names replicas after the service'), namespace: ignored("replicas are in the service's namespace"),
    creationTimestamp: ignored('set by Kubernetes'),
  });
  const podLabels = labelsAt(report, ctx, templateMeta.labels, 'spec.template.metadata.labels');
  const podSpec = objectAt(report, ctx, template.spec, 'spec.template.spec');
  if (!podSpec) report.refuse(ctx, 'spec.template.spec', 'required: the pod to run');
  if (!meta || !podSpec) return undefined;
  const usedLabels = checkOwnSelector(report, ctx, spec.selector, podLabels);
  const origins = new OriginRecorder(ctx);
  origins.record('metadata', 'metadata');
  const pod = convertPodSpec(report, ctx, podSpec, 'spec.template.spec', podLabels, origins);
  const out: Json = { replicas: spec.replicas ?? 1, ...pod.spec };
  origins.record('spec.replicas', 'spec.replicas');
  const update = convertStrategy(report, ctx, spec.strategy, origins);
  if (spec.progressDeadlineSeconds !== undefined) {
    update.progressDeadlineSeconds = spec.progressDeadlineSeconds;
    origins.record('spec.update.progressDeadlineSeconds', 'spec.progressDeadlineSeconds');
  }
  if (Object.keys(update).length) out.update = update;
  return {
    ctx, meta, namespace: namespaceOf(meta), podLabels, usedLabels, portNames: pod.portNames, claims: pod.claims, origins,
    object: { apiVersion: 'tide/v1', kind: 'Service', metadata: tideMetadata(meta), spec: out },
  };
}

/** The order a person reads a service in (and DESIGN.md lists its fields in). */
const SPEC_ORDER = [
  'replicas', 'image', 'command', 'args', 'workingDir', 'env', 'envFrom', 'resources', 'ports', 'network', 'restartPolicy',
  'terminationGracePeriodSeconds', 'placement', 'user', 'readOnlyRootFilesystem', 'privileged', 'securityContext', 'volumes', 'volumeMounts',
  'probes', 'update', 'autoscale',
];

/** The draft's spec with its fields in SPEC_ORDER (any other after them). */
export function orderedSpec(spec: Json): Json {
  const rank = (key: string) => (SPEC_ORDER.includes(key) ? SPEC_ORDER.indexOf(key) : SPEC_ORDER.length);
  return Object.fromEntries(Object.entries(spec).sort(([a], [b]) => rank(a) - rank(b)));
}

/** Kubernetes refuses a Deployment whose selector does not select its own template; so does this. */
function checkOwnSelector(report: Report, ctx: DocContext, value: unknown, podLabels: Labels): Set<string> {
  const selector = checkSelector(report, ctx, value, 'spec.selector');
  if (value === undefined) report.refuse(ctx, 'spec.selector', 'required (apps/v1): the labels of the pod template');
  if (selector && !selectorMatches(selector, podLabels)) {
    report.refuse(ctx, 'spec.selector', 'does not match spec.template.metadata.labels (Kubernetes refuses this Deployment)');
  }
  return new Set(Object.keys(selector && typeof selector.matchLabels === 'object' && selector.matchLabels ? selector.matchLabels : {}));
}

/** RollingUpdate's limits keep their meaning in Tide; a limit not given takes Tide's default (maxUnavailable 0). */
function convertStrategy(report: Report, ctx: DocContext, value: unknown, origins: OriginRecorder): Json {
  const strategy = objectAt(report, ctx, value, 'spec.strategy');
  if (!strategy) return {};
  applyRules(report, ctx, 'spec.strategy', strategy, STRATEGY_RULES);
  if (strategy.type === 'Recreate') {
    report.refuse(ctx, 'spec.strategy.type', 'Tide has no Recreate (old replicas gone before new ones start); rollingUpdate { maxSurge: 0, maxUnavailable: 100% } replaces them all at once, new ones possibly starting while old ones stop');
    return {};
  }
  if (strategy.type !== undefined && strategy.type !== 'RollingUpdate') report.refuse(ctx, 'spec.strategy.type', 'must be RollingUpdate or Recreate');
  const rolling = objectAt(report, ctx, strategy.rollingUpdate, 'spec.strategy.rollingUpdate') ?? {};
  applyRules(report, ctx, 'spec.strategy.rollingUpdate', rolling, { maxSurge: 'use', maxUnavailable: 'use' });
  const update: Json = {};
  for (const field of ['maxSurge', 'maxUnavailable']) {
    if (rolling[field] === undefined) continue;
    update[field] = rolling[field];
    origins.record(`spec.update.${field}`, `spec.strategy.rollingUpdate.${field}`);
  }
  return update;
}

