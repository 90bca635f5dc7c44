/**
 * What an apply would do, without doing it: `POST /api/v1/apply` with `dryRun` and `POST /api/v1/diff`.
 * The documents go through apply's own validation and defaulting (applyDocuments' `plan` hook); each
 * valid object is then compared with the stored one as the apply would write it (a Service:
 * keptByApply, the autoscaled count and the last restart kept; a ConfigMap or Secret: its content,
 * as ConfigStore.apply judges it), and nothing is written. A Secret's values never enter a plan:
 * its diff names the keys, each value shown as a marker (secretDataMarkers).
 */
import { ConfigMap, Secret, Service, StoredUserObject, specEquals } from '@tide/api';
import { ConfigObject, ConfigStore, ObjectStore, configContent } from '@tide/store';
import { stringify } from 'yaml';
import { ApplyResult, keptByApply } from './apply.service';
import { unifiedDiff } from './unified.diff';

/** What a Secret's value reads as in a plan; `CHANGED_SECRET` on the applied side of a value that would change. */
export const REDACTED_SECRET = '(redacted)';
export const CHANGED_SECRET = '(changed, redacted)';

/** The fields a user declares, as YAML with sorted keys: what a diff compares (status and server metadata left out). */
export function declaredYaml(service: Service): string {
  return stringify(declared(service, { spec: service.spec }), { sortMapEntries: true });
}

function declared(object: StoredUserObject, body: Record<string, unknown>): Record<string, unknown> {
  const { name, namespace, labels } = object.metadata;
  return { apiVersion: object.apiVersion, kind: object.kind, metadata: { name, namespace, ...(labels ? { labels } : {}) }, ...body };
}

function diffLabels(object: StoredUserObject): { before: string; after: string } {
  const { namespace, name } = object.metadata;
  const what = `${object.kind.toLowerCase()} ${namespace}/${name}`;
  return { before: `${what} (stored)`, after: `${what} (applied)` };
}

/** The result of applying `applied` over `current` (undefined: none stored), with the diff of the two. */
export function planService(current: Service | undefined, applied: Service): ApplyResult {
  const { namespace, name } = applied.metadata;
  const id = { kind: 'Service', namespace, name };
  const labels = diffLabels(applied);
  if (!current) return { ...id, action: 'created', diff: unifiedDiff('', declaredYaml(applied), { ...labels, before: '/dev/null' }) };
  const desired = keptByApply(current, applied);
  if (specEquals(current, desired)) return { ...id, action: 'unchanged' };
  // As the apply writes it: the stored object with the applied labels and spec.
  const written: Service = { ...current, metadata: { ...current.metadata, labels: desired.metadata.labels }, spec: desired.spec };
  return { ...id, action: 'configured', diff: unifiedDiff(declaredYaml(current), declaredYaml(written), labels) };
}

/**
 * The paths whose declared value differs: `metadata.labels`, `type`, and `data.KEY` /
 * `binaryData.KEY` for each key added, removed or given another value.
 */
export function changedConfigPaths(current: ConfigObject, applied: ConfigObject): string[] {
  const paths: string[] = [];
  if (canonical(current.metadata.labels) !== canonical(applied.metadata.labels)) paths.push('metadata.labels');
  if (current.kind === 'Secret' && applied.kind === 'Secret' && current.type !== applied.type) paths.push('type');
  for (const field of ['data', 'binaryData'] as const) {
    const before = (current as ConfigMap)[field] ?? {};
    const after = (applied as ConfigMap)[field] ?? {};
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      if (before[key] !== after[key]) paths.push(`${field}.${key}`);
    }
  }
  return paths;
}

function canonical(labels: Record<string, string> | undefined): string {
  return JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * A Secret's data with every value replaced by a marker: `(redacted)`, or on the applied side
 * `(changed, redacted)` where `compared` holds that key with another value. Only keys leave.
 */
export function secretDataMarkers(secret: Secret, compared?: Secret): Record<string, string> | undefined {
  if (!secret.data) return undefined;
  return Object.fromEntries(Object.entries(secret.data).map(([key, value]) => {
    const changed = compared?.data?.[key] !== undefined && compared.data[key] !== value;
    return [key, changed ? CHANGED_SECRET : REDACTED_SECRET];
  }));
}

/** A ConfigMap's or Secret's declared YAML; a Secret's values as markers against `compared` (secretDataMarkers). */
function declaredConfigYaml(object: ConfigObject, compared?: ConfigObject): string {
  const body = object.kind === 'Secret'
    ? { type: object.type, data: secretDataMarkers(object, compared as Secret | undefined) }
    : { data: object.data, binaryData: object.binaryData };
  return stringify(declared(object, body), { sortMapEntries: true });
}

/** As planService, for a ConfigMap or Secret; `changedPaths` names the paths that would change (values of a Secret never shown). */
export function planConfig(current: ConfigObject | undefined, applied: ConfigObject): ApplyResult {
  const { namespace, name } = applied.metadata;
  const id = { kind: applied.kind, namespace, name };
  const labels = diffLabels(applied);
  if (!current) return { ...id, action: 'created', diff: unifiedDiff('', declaredConfigYaml(applied), { ...labels, before: '/dev/null' }) };
  if (configContent(current) === configContent(applied)) return { ...id, action: 'unchanged' };
  const diff = unifiedDiff(declaredConfigYaml(current), declaredConfigYaml(applied, current), labels);
  return { ...id, action: 'configured', changedPaths: changedConfigPaths(current, applied), diff };
}

/** applyDocuments' `plan`: reads each object once and writes nothing. `configs`: where ConfigMaps and Secrets are read. */
export function planObjects(store: ObjectStore, configs?: ConfigStore): (valid: StoredUserObject[]) => Promise<ApplyResult[]> {
  return (valid) => Promise.all(valid.map(async (object) => {
    const { resourceVersion: _read, ...metadata } = object.metadata;
    const { namespace, name } = metadata;
    if (object.kind === 'Service') return planService(await store.get<Service>('Service', namespace, name), { ...object, metadata });
    // applyDocuments refuses a ConfigMap or Secret when the control plane has no ConfigStore.
    if (!configs) throw new Error(`${object.kind} ${namespace}/${name}: no ConfigStore to compare it with`);
    return planConfig(await configs.get(object.kind, namespace, name), { ...object, metadata } as ConfigObject);
  }));
}
