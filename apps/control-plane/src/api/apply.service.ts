/** `tsctl apply`: validate every document, then create or update each; an invalid file writes nothing. */
import { FieldError, Service, specEquals, validateDocument } from '@tide/api';
import { AlreadyExistsError, ConflictError, ObjectStore } from '@tide/store';
import { inParallel } from '../parallel';

/** Services of one apply written at once. */
const APPLY_CONCURRENCY = 16;

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  action: ApplyAction;
}

export class ApplyValidationError extends Error {
  constructor(readonly details: FieldError[]) {
    super(`${details.length} invalid field(s); nothing was applied`);
  }
}

/**
 * `known(namespace, name)`: whether the control plane's cache holds that Service. One it does not
 * hold is created straight away (one round trip; the create fails if it exists after all, and the
 * apply then reads and updates it); one it holds is read from etcd first, as always.
 */
export async function applyDocuments(store: ObjectStore, documents: unknown[], known?: (namespace: string, name: string) => boolean): Promise<ApplyResult[]> {
  const valid: Service[] = [];
  const errors: FieldError[] = [];
  documents.forEach((doc, index) => {
    const result = validateDocument(doc, index);
    if (result.ok) valid.push(result.object);
    else errors.push(...result.errors);
  });
  const names = new Set<string>();
  valid.forEach((service, index) => {
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    if (names.has(key)) errors.push({ document: index, path: 'metadata.name', message: `service ${key} appears twice in this apply` });
    names.add(key);
  });
  if (errors.length > 0) throw new ApplyValidationError(errors);
  // Each service is its own key: they are written concurrently (a few at a time), answered in order.
  const results: ApplyResult[] = new Array(valid.length);
  await inParallel(valid.map((service, index) => ({ service, index })), APPLY_CONCURRENCY, async ({ service, index }) => {
    results[index] = await applyService(store, service, known?.(service.metadata.namespace, service.metadata.name) ?? true);
  });
  return results;
}

/**
 * With autoscale on both sides the autoscaler owns spec.replicas: an apply keeps the count it chose
 * (within the new bounds) instead of resetting a scaled-out tier to the manifest's initial count.
 */
export function keepAutoscaledReplicas(current: Service, desired: Service): Service {
  const bounds = desired.spec.autoscale;
  if (!bounds || !current.spec.autoscale) return desired;
  const replicas = Math.min(bounds.maxReplicas, Math.max(bounds.minReplicas ?? 1, current.spec.replicas));
  return { ...desired, spec: { ...desired.spec, replicas } };
}

async function applyService(store: ObjectStore, applied: Service, maybeExists: boolean): Promise<ApplyResult> {
  const { namespace, name } = applied.metadata;
  const result = (action: ApplyAction): ApplyResult => ({ kind: 'Service', namespace, name, action });
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = attempt === 0 && !maybeExists ? undefined : await store.get<Service>('Service', namespace, name);
    try {
      if (!current) {
        await store.create(applied);
        return result('created');
      }
      const desired = keepAutoscaledReplicas(current, applied);
      if (specEquals(current, desired)) return result('unchanged');
      await store.update({ ...current, metadata: { ...current.metadata, labels: desired.metadata.labels }, spec: desired.spec }, current);
      return result('configured');
    } catch (error) {
      if (!(error instanceof ConflictError || error instanceof AlreadyExistsError)) throw error;
    }
  }
  throw new ConflictError(`service ${namespace}/${name} keeps changing concurrently; try again`);
}
