/**
 * What an apply would do, without doing it: `POST /api/v1/apply` with `dryRun` and `POST /api/v1/diff`.
 * The documents go through apply's own validation and defaulting (applyDocuments' `plan` hook); each
 * valid Service is then compared with the stored one as the apply would write it (keptByApply: the
 * autoscaled count and the last restart kept), and nothing is written.
 */
import { Service, specEquals } from '@tide/api';
import { ObjectStore } from '@tide/store';
import { stringify } from 'yaml';
import { ApplyResult, keptByApply } from './apply.service';
import { unifiedDiff } from './unified.diff';

/** The fields a user declares, as YAML with sorted keys: what a diff compares (status and server metadata left out). */
export function declaredYaml(service: Service): string {
  const { name, namespace, labels } = service.metadata;
  const declared = { apiVersion: service.apiVersion, kind: service.kind, metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec: service.spec };
  return stringify(declared, { sortMapEntries: true });
}

/** The result of applying `applied` over `current` (undefined: none stored), with the diff of the two. */
export function planService(current: Service | undefined, applied: Service): ApplyResult {
  const { namespace, name } = applied.metadata;
  const id = { kind: 'Service', namespace, name };
  const labels = { before: `service ${namespace}/${name} (stored)`, after: `service ${namespace}/${name} (applied)` };
  if (!current) return { ...id, action: 'created', diff: unifiedDiff('', declaredYaml(applied), { ...labels, before: '/dev/null' }) };
  const desired = keptByApply(current, applied);
  if (specEquals(current, desired)) return { ...id, action: 'unchanged' };
  // As the apply writes it: the stored object with the applied labels and spec.
  const written: Service = { ...current, metadata: { ...current.metadata, labels: desired.metadata.labels }, spec: desired.spec };
  return { ...id, action: 'configured', diff: unifiedDiff(declaredYaml(current), declaredYaml(written), labels) };
}

/** applyDocuments' `plan`: reads each Service once and writes nothing. */
export function planServices(store: ObjectStore): (valid: Service[]) => Promise<ApplyResult[]> {
  return (valid) => Promise.all(valid.map(async (service) => {
    const { resourceVersion: _read, ...metadata } = service.metadata;
    return planService(await store.get<Service>('Service', service.metadata.namespace, service.metadata.name), { ...service, metadata });
  }));
}
