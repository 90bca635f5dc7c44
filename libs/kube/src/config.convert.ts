/**
 * `v1 ConfigMap`, `v1 Secret`, `v1 Namespace` → the tide/v1 objects of the same shape, and
 * `v1 PersistentVolumeClaim`, which becomes nothing of its own: a claim is Tide's node-local volume
 * of the same name, made when a replica first uses it.
 */
import { convertMetadata, tideMetadata } from './meta.convert';
import { OriginRecorder } from './origin';
import { DocContext, Json, Report, Rules, applyRules, ignored, listAt, objectAt } from './report';

const STATUS = ignored('status is what Kubernetes observed');
const IMMUTABLE = (v: unknown) => (v === true ? ignored('Tide does not lock it against changes') : undefined);
const CONFIG_MAP_RULES: Rules = { apiVersion: 'use', kind: 'use', metadata: 'use', data: 'use', binaryData: 'use', immutable: IMMUTABLE };
const SECRET_RULES: Rules = { apiVersion: 'use', kind: 'use', metadata: 'use', type: 'use', data: 'use', stringData: 'use', immutable: IMMUTABLE };
const NAMESPACE_RULES: Rules = { apiVersion: 'use', kind: 'use', metadata: 'use', spec: 'use', status: STATUS };
const CLAIM_SPEC_RULES: Rules = {
  accessModes: 'use',
  resources: ignored("Tide's node-local volumes have no size limit"),
  storageClassName: ignored('a Tide named volume lives on the disk of its node'),
  volumeMode: (v) => (v === undefined || v === 'Filesystem' ? undefined : { refuse: 'Tide volumes are filesystems' }),
  volumeName: ignored('Tide has no persistent volume objects'),
  selector: ignored('Tide has no persistent volume objects'),
  dataSource: { refuse: 'a Tide named volume starts empty' },
  dataSourceRef: { refuse: 'a Tide named volume starts empty' },
  volumeAttributesClassName: ignored('Tide has no volume classes'),
};

export interface ConvertedObject {
  object: Json;
  origins: OriginRecorder;
}

export function convertConfigMap(report: Report, ctx: DocContext, doc: Json): ConvertedObject | undefined {
  applyRules(report, ctx, '', doc, CONFIG_MAP_RULES);
  return withData(report, ctx, doc, 'ConfigMap', ['data', 'binaryData']);
}

export function convertSecret(report: Report, ctx: DocContext, doc: Json): ConvertedObject | undefined {
  applyRules(report, ctx, '', doc, SECRET_RULES);
  return withData(report, ctx, doc, 'Secret', ['type', 'data', 'stringData']);
}

function withData(report: Report, ctx: DocContext, doc: Json, kind: string, fields: string[]): ConvertedObject | undefined {
  const meta = convertMetadata(report, ctx, doc.metadata);
  if (!meta) return undefined;
  const origins = new OriginRecorder(ctx);
  const object: Json = { apiVersion: 'tide/v1', kind, metadata: tideMetadata(meta) };
  origins.record('metadata', 'metadata');
  for (const field of fields) {
    if (doc[field] === undefined) continue;
    object[field] = doc[field];
    origins.record(field, field);
  }
  return { object, origins };
}

export function convertNamespace(report: Report, ctx: DocContext, doc: Json): ConvertedObject | undefined {
  applyRules(report, ctx, '', doc, NAMESPACE_RULES);
  const spec = objectAt(report, ctx, doc.spec, 'spec');
  if (spec) applyRules(report, ctx, 'spec', spec, { finalizers: ignored('Tide runs no finalizers') });
  const meta = convertMetadata(report, ctx, doc.metadata);
  if (!meta) return undefined;
  if (meta.namespace !== undefined) report.warn(ctx, 'metadata.namespace', 'ignored: a namespace is in no namespace');
  const origins = new OriginRecorder(ctx);
  origins.record('metadata', 'metadata');
  const metadata: Json = { name: meta.name, ...(Object.keys(meta.labels).length ? { labels: meta.labels } : {}) };
  return { object: { apiVersion: 'tide/v1', kind: 'Namespace', metadata }, origins };
}

/** A claim's name, when Tide can take it as a node-local volume (one node: ReadWriteOnce or -Pod). */
export function convertClaim(report: Report, ctx: DocContext, doc: Json): string | undefined {
  applyRules(report, ctx, '', doc, { apiVersion: 'use', kind: 'use', metadata: 'use', spec: 'use', status: STATUS });
  const meta = convertMetadata(report, ctx, doc.metadata);
  const spec = objectAt(report, ctx, doc.spec, 'spec') ?? {};
  applyRules(report, ctx, 'spec', spec, CLAIM_SPEC_RULES);
  const shared = listAt(report, ctx, spec.accessModes, 'spec.accessModes').filter((m) => m !== 'ReadWriteOnce' && m !== 'ReadWriteOncePod');
  if (shared.length) report.refuse(ctx, 'spec.accessModes', `${shared.join(', ')}: a Tide named volume lives on one node and cannot be shared by several`);
  if (!meta) return undefined;
  report.warn(ctx, '', `no object of its own: Tide makes the node-local volume "${meta.name}" when a replica first uses it`);
  return meta.name;
}

