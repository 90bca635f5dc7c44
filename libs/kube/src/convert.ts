/**
 * Kubernetes manifests (and tide/v1 objects) → tide/v1 objects, as one unit: every field Tide cannot
 * honour is reported with its document and path; harmless ones are warnings, the others errors, and
 * with any error no object is returned (nothing of the file may be applied).
 */
import { UserObject, validateObject } from '@tide/api';
import { convertClaim, convertConfigMap, convertNamespace, convertSecret } from './config.convert';
import { ServiceDraft, convertDeployment, orderedSpec } from './deployment.convert';
import { convertHpa } from './hpa.convert';
import { ObjectOrigin, OriginRecorder, sourceOf } from './origin';
import { keysOf, referencesOf } from './references';
import { ConversionIssue, DocContext, Json, Report, isObject } from './report';
import { PublishedPorts, convertService } from './service.convert';

export interface ConversionResult {
  /** The tide/v1 objects, namespaces first, then ConfigMaps and Secrets, then Services; empty when there are errors. */
  objects: UserObject[];
  /** Where each object (same index) and its fields came from (sourceOf). */
  origins: ObjectOrigin[];
  warnings: ConversionIssue[];
  errors: ConversionIssue[];
}

/** What each apiVersion + kind converts with, in two passes: Services and HPAs need the Deployments. */
const FIRST_PASS = ['apps/v1 Deployment', 'v1 ConfigMap', 'v1 Secret', 'v1 Namespace', 'v1 PersistentVolumeClaim'];
const SECOND_PASS = ['v1 Service', 'autoscaling/v2 HorizontalPodAutoscaler', 'autoscaling/v1 HorizontalPodAutoscaler'];
const KNOWN = [...FIRST_PASS, ...SECOND_PASS];
const ORDER: Record<string, number> = { Namespace: 0, ConfigMap: 1, Secret: 1, Service: 2 };

interface Entry {
  ctx: DocContext;
  doc: Json;
  key: string;
}

interface Output {
  object: Json;
  origins: OriginRecorder;
  /** Already validated (a tide/v1 document, checked as written). */
  validated?: boolean;
}

/** A document that is not tide/v1 (a string apiVersion of another group) is a Kubernetes one. */
export function isKubernetesDocument(doc: unknown): boolean {
  return isObject(doc) && typeof doc.apiVersion === 'string' && doc.apiVersion !== 'tide/v1';
}

export function convertManifests(documents: unknown[]): ConversionResult {
  const report = new Report();
  const entries = flatten(report, documents);
  const outputs: Output[] = [];
  const drafts: ServiceDraft[] = [];
  for (const entry of entries) firstPass(report, entry, outputs, drafts);
  const published: PublishedPorts = new Map();
  for (const entry of entries.filter((e) => e.key === 'v1 Service')) convertService(report, entry.ctx, entry.doc, drafts, published);
  for (const entry of entries.filter((e) => e.key.endsWith(' HorizontalPodAutoscaler'))) convertHpa(report, entry.ctx, entry.doc, drafts);
  for (const draft of drafts) {
    warnUnusedLabels(report, draft);
    outputs.push({ object: { ...draft.object, spec: orderedSpec(draft.object.spec) }, origins: draft.origins });
  }
  const ordered = [...outputs].sort((a, b) => rank(a) - rank(b) || a.origins.origin.document - b.origins.origin.document);
  checkDuplicates(report, ordered);
  for (const output of ordered) if (!output.validated) validate(report, output);
  checkReferences(report, ordered);
  const failed = report.errors.length > 0;
  return {
    objects: failed ? [] : ordered.map((o) => o.object as unknown as UserObject),
    origins: failed ? [] : ordered.map((o) => o.origins.origin),
    // In the file's order (stable: within a document, in the order found).
    warnings: [...report.warnings].sort((a, b) => a.document - b.document),
    errors: [...report.errors].sort((a, b) => a.document - b.document),
  };
}

/** Documents, with the items of a `kind: List` (kubectl get -o yaml) as documents of their own. */
function flatten(report: Report, documents: unknown[]): Entry[] {
  const entries: Entry[] = [];
  documents.forEach((doc, document) => {
    const ctx = { document, prefix: '' };
    if (!isObject(doc)) return report.refuse(ctx, '', 'must be a mapping (apiVersion, kind, metadata, ...)');
    if (doc.apiVersion === 'v1' && doc.kind === 'List') {
      const items = Array.isArray(doc.items) ? doc.items : [];
      items.forEach((item, i) => {
        const itemCtx = { document, prefix: `items[${i}]` };
        if (isObject(item)) entries.push({ ctx: itemCtx, doc: item, key: `${String(item.apiVersion)} ${String(item.kind)}` });
        else report.refuse(itemCtx, '', 'must be a mapping');
      });
      return;
    }
    entries.push({ ctx, doc, key: `${String(doc.apiVersion)} ${String(doc.kind)}` });
  });
  return entries;
}

function firstPass(report: Report, entry: Entry, outputs: Output[], drafts: ServiceDraft[]): void {
  const { ctx, doc, key } = entry;
  if (doc.apiVersion === 'tide/v1') return passThrough(report, entry, outputs);
  if (!KNOWN.includes(key)) return refuseKind(report, ctx, doc);
  let output: { object: Json; origins: OriginRecorder } | undefined;
  if (key === 'apps/v1 Deployment') {
    const draft = convertDeployment(report, ctx, doc);
    if (draft) drafts.push(draft);
  } else if (key === 'v1 ConfigMap') output = convertConfigMap(report, ctx, doc);
  else if (key === 'v1 Secret') output = convertSecret(report, ctx, doc);
  else if (key === 'v1 Namespace') output = convertNamespace(report, ctx, doc);
  else if (key === 'v1 PersistentVolumeClaim') convertClaim(report, ctx, doc);
  if (output) outputs.push(output);
}

/** A tide/v1 document goes as written, checked by the same validation as the server's. */
function passThrough(report: Report, entry: Entry, outputs: Output[]): void {
  const result = validateObject(entry.doc, entry.ctx.document);
  if (!result.ok) {
    for (const error of result.errors) report.refuse(entry.ctx, error.path, error.message);
    return;
  }
  const origins = new OriginRecorder(entry.ctx);
  origins.record('', '');
  outputs.push({ object: entry.doc, origins, validated: true });
}

function refuseKind(report: Report, ctx: DocContext, doc: Json): void {
  const sameKind = KNOWN.filter((k) => k.endsWith(` ${String(doc.kind)}`)).map((k) => k.split(' ')[0]);
  if (sameKind.length) return report.refuse(ctx, 'apiVersion', `${String(doc.kind)} is converted from ${sameKind.join(' or ')}, got ${JSON.stringify(doc.apiVersion)}`);
  const kinds = [...new Set(KNOWN.map((k) => k.split(' ')[1]))].join(', ');
  report.refuse(ctx, 'kind', `Tide does not convert ${JSON.stringify(doc.kind)} (${JSON.stringify(doc.apiVersion)}); it converts ${kinds} and takes tide/v1 objects`);
}

function rank(output: Output): number {
  return ORDER[String(output.object.kind)] ?? 3;
}

function warnUnusedLabels(report: Report, draft: ServiceDraft): void {
  for (const label of Object.keys(draft.podLabels)) {
    if (!draft.usedLabels.has(label)) report.warn(draft.ctx, `spec.template.metadata.labels.${label}`, 'not kept: Tide replicas carry no labels (no selector of this file uses it)');
  }
}

function identity(object: Json): string {
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const namespace = object.kind === 'Namespace' ? '' : String(metadata.namespace ?? 'default');
  return `${String(object.kind)} ${namespace}/${String(metadata.name)}`;
}

function checkDuplicates(report: Report, outputs: Output[]): void {
  const seen = new Set<string>();
  for (const output of outputs) {
    const id = identity(output.object);
    if (seen.has(id)) {
      const source = sourceOf(output.origins.origin, 'metadata.name');
      report.refuse({ document: source.document, prefix: '' }, source.path, `${id} is made twice by this file`);
    }
    seen.add(id);
  }
}

/** The Tide validation of a converted object, its errors shown at the Kubernetes fields they came from. */
function validate(report: Report, output: Output): void {
  const result = validateObject(output.object, output.origins.origin.document);
  if (result.ok) return;
  for (const error of result.errors) {
    const source = sourceOf(output.origins.origin, error.path);
    report.errors.push({ document: source.document, path: source.path, message: `${error.message} (Tide: ${error.path})` });
  }
}

function checkReferences(report: Report, outputs: Output[]): void {
  const held = new Map(outputs.filter((o) => o.object.kind === 'ConfigMap' || o.object.kind === 'Secret').map((o) => [identity(o.object), keysOf(o.object)]));
  for (const output of outputs.filter((o) => o.object.kind === 'Service')) {
    const namespace = String((output.object.metadata as Json).namespace ?? 'default');
    for (const ref of referencesOf(output.object.spec as Json)) {
      if (ref.optional) continue;
      const keys = held.get(`${ref.kind} ${namespace}/${ref.name}`);
      const source = sourceOf(output.origins.origin, ref.path);
      const at = { document: source.document, prefix: '' };
      if (!keys) report.warn(at, source.path, `${ref.kind} "${ref.name}" is not in this file: it must exist in namespace "${namespace}" before the replicas start`);
      else if (ref.key !== undefined && !keys.includes(ref.key)) report.warn(at, source.path, `${ref.kind} "${ref.name}" of this file has no key "${ref.key}": the replicas would not start`);
    }
  }
}
