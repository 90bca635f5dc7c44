/**
 * `tsctl apply`: validate every document, then create or update each; an invalid file writes nothing.
 * Optimistic concurrency: a document carrying `metadata.resourceVersion` (what the caller read) is
 * written only if the stored object still has it, else 409; without one (or with `force`) the apply
 * reads and writes the current object itself, retrying on conflicts (last writer wins).
 */
import { FieldError, Service, StoredUserObject, specEquals, validateApplied } from '@tide/api';
import {
  AlreadyExistsError, ConfigObject, ConfigStore, ConflictError, MAX_OBJECT_BYTES, OBJECT_HEADROOM_BYTES, ObjectStore, assertObjectFits,
} from '@tide/store';
import { inParallel } from '../parallel';

/** Services of one apply written at once. */
const APPLY_CONCURRENCY = 16;

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  action: ApplyAction;
  /** A dry run's or diff's unified diff of the stored object against the would-be one (apply.plan.ts). */
  diff?: string;
  /** A dry run's or diff's changed ConfigMap or Secret: the paths that would change (`data.password`); never a value. */
  changedPaths?: string[];
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
export interface ApplyOptions {
  /** Whether the control plane's cache holds that Service (see applyDocuments). */
  known?: (namespace: string, name: string) => boolean;
  /** Ignore the documents' resourceVersions: overwrite whatever is stored (`tsctl apply --force`). */
  force?: boolean;
  /** Where ConfigMaps and Secrets go; without it, an apply holding one is refused. */
  configs?: ConfigStore;
  /**
   * status.configHash of a Service as it will be once this apply's ConfigMaps and Secrets are
   * written (config.controller.ts keeps it current afterwards): its first replicas already run
   * the template with the right digest instead of rolling a second later.
   */
  configHash?: (service: Service, applied: ConfigObject[]) => string | undefined;
  /** Validate, then hand the valid objects to this instead of writing them (dry run and diff: apply.plan.ts). */
  plan?: (valid: StoredUserObject[]) => Promise<ApplyResult[]>;
}

export async function applyDocuments(store: ObjectStore, documents: unknown[], options: ApplyOptions = {}): Promise<ApplyResult[]> {
  const valid: { object: StoredUserObject; index: number }[] = [];
  const errors: FieldError[] = [];
  documents.forEach((doc, index) => {
    const result = validateApplied(doc, index);
    if (result.ok) valid.push({ object: result.object, index });
    else errors.push(...result.errors);
  });
  const names = new Set<string>();
  for (const { object, index } of valid) {
    const key = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
    if (names.has(key)) errors.push({ document: index, path: 'metadata.name', message: `${key} appears twice in this apply` });
    names.add(key);
    if (object.kind !== 'Service' && !options.configs) errors.push({ document: index, path: 'kind', message: `${object.kind}s cannot be stored by this control plane` });
    // Room for the status it and its replicas gain: a Service that fits now but not with those would fail later.
    if (object.kind === 'Service') {
      try {
        assertObjectFits(object, MAX_OBJECT_BYTES - OBJECT_HEADROOM_BYTES);
      } catch (error) {
        errors.push({ document: index, path: 'spec', message: (error as Error).message });
      }
    }
  }
  if (errors.length > 0) throw new ApplyValidationError(errors);
  if (options.plan) return options.plan(valid.map((v) => v.object));
  const results: ApplyResult[] = new Array(valid.length);
  // ConfigMaps and Secrets first: a Service of the same apply starts with its config in place.
  const configs = valid.map((v, at) => ({ ...v, at })).filter((v): v is { object: ConfigObject; index: number; at: number } => v.object.kind !== 'Service');
  await inParallel(configs, APPLY_CONCURRENCY, async ({ object, at }) => {
    const { namespace, name } = object.metadata;
    results[at] = { kind: object.kind, namespace, name, action: await options.configs!.apply(object) };
  });
  const applied = configs.map((c) => c.object);
  // Each service is its own key: they are written concurrently (a few at a time), answered in order.
  const services = valid.map((v, at) => ({ ...v, at })).filter((v): v is { object: Service; index: number; at: number } => v.object.kind === 'Service');
  await inParallel(services, APPLY_CONCURRENCY, async ({ object: service, at }) => {
    const expected = options.force ? undefined : service.metadata.resourceVersion;
    const { resourceVersion: _read, ...metadata } = service.metadata;
    const configHash = options.configHash?.(service, applied);
    const withHash = { ...service, metadata, ...(configHash ? { status: { configHash } as Service['status'] } : {}) };
    results[at] = expected !== undefined
      ? await applyReadVersion(store, withHash, expected)
      : await applyService(store, withHash, options.known?.(service.metadata.namespace, service.metadata.name) ?? true);
  });
  return results;
}

/** The stored Service with the applied spec and labels, and the applied config digest (other status kept). */
function updated(current: Service, desired: Service): Service {
  const configHash = desired.status?.configHash;
  const status = configHash && current.status?.configHash !== configHash ? { status: { ...current.status, configHash } as Service['status'] } : {};
  return { ...current, metadata: { ...current.metadata, labels: desired.metadata.labels }, spec: desired.spec, ...status };
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

/** The annotation `tsctl rollout restart` sets: kept by an apply whose manifest does not name it, so that the apply does not roll again. */
export const RESTARTED_AT = 'tide/restartedAt';

/** What an apply of `applied` over `current` writes: the autoscaled count and the last restart kept. */
export function keptByApply(current: Service, applied: Service): Service {
  const desired = keepAutoscaledReplicas(current, applied);
  const restartedAt = current.spec.annotations?.[RESTARTED_AT];
  if (restartedAt === undefined || desired.spec.annotations?.[RESTARTED_AT] !== undefined) return desired;
  return { ...desired, spec: { ...desired.spec, annotations: { ...desired.spec.annotations, [RESTARTED_AT]: restartedAt } } };
}

/**
 * The caller read the Service at `expected`: written only if it is still at that version (one
 * compare-and-swap, no retry: a 409 tells the caller to read it again). An unchanged spec is
 * "unchanged" whatever the version (nothing is written).
 */
async function applyReadVersion(store: ObjectStore, applied: Service, expected: string): Promise<ApplyResult> {
  const { namespace, name } = applied.metadata;
  const current = await store.get<Service>('Service', namespace, name);
  if (!current) throw new ConflictError(`service ${namespace}/${name} was read at resourceVersion ${expected} but no longer exists; apply it without a resourceVersion to create it`);
  const desired = keptByApply(current, applied);
  if (specEquals(current, desired)) return { kind: 'Service', namespace, name, action: 'unchanged' };
  const stale = (now: string) => new ConflictError(
    `service ${namespace}/${name} changed since it was read: resourceVersion ${expected} is stale (now ${now}); read it again, or apply with --force to overwrite`);
  if (current.metadata.resourceVersion !== expected) throw stale(current.metadata.resourceVersion ?? 'unknown');
  try {
    await store.update(updated(current, desired), current);
  } catch (error) {
    // Another apply from the same read won the compare-and-swap between our read and our write: the same answer.
    if (error instanceof ConflictError) throw stale('newer');
    throw error;
  }
  return { kind: 'Service', namespace, name, action: 'configured' };
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
      const desired = keptByApply(current, applied);
      if (specEquals(current, desired)) return result('unchanged');
      await store.update(updated(current, desired), current);
      return result('configured');
    } catch (error) {
      if (!(error instanceof ConflictError || error instanceof AlreadyExistsError)) throw error;
    }
  }
  throw new ConflictError(`service ${namespace}/${name} keeps changing concurrently; try again`);
}
