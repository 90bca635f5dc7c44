/**
 * Validation of user manifests. Every error carries the document index and the field path, all
 * errors of a document are collected, and a valid document comes back with its defaults filled.
 * `validateObject` is the complete check of every tide/v1 kind; `validateDocument` is what the control
 * plane stores today: Services (without the fields it cannot run yet, admin.fields.ts), ConfigMaps
 * and Secrets.
 */
import { unwiredFields } from './admin.fields';
import { checkAutoscale } from './autoscale.validation';
import { ConfigMap, Namespace, Secret } from './config.types';
import { checkConfigMap, checkNamespace, checkSecret } from './config.validation';
import { checkEnv, checkEnvFrom } from './env.validation';
import { Checker, FieldError, describe } from './field.checker';
import { SERVICE_NAME, checkMetadata } from './metadata.validation';
import { checkProbes } from './probes';
import { checkUpdate } from './rollout';
import { parseCpu, parseMemory } from './quantity';
import { API_VERSION, SECCOMP_PROFILE_TYPES, Service, ServiceSpec } from './types';
import { checkVolumeMounts, checkVolumes } from './volume.validation';

export type { FieldError };

/** Every kind a user writes in tide/v1. */
export type UserObject = Service | ConfigMap | Secret | Namespace;

/** The kinds `apply` stores. */
export type StoredUserObject = Service | ConfigMap | Secret;
export type ValidationResult = { ok: true; object: Service } | { ok: false; errors: FieldError[] };
export type AppliedValidationResult = { ok: true; object: StoredUserObject } | { ok: false; errors: FieldError[] };
export type ObjectValidationResult = { ok: true; object: UserObject } | { ok: false; errors: FieldError[] };

/** The kinds the control plane stores today. */
export const USER_KINDS = ['Service', 'ConfigMap', 'Secret'] as const;
/** Every kind `validateObject` knows. */
export const OBJECT_KINDS = ['Service', 'ConfigMap', 'Secret', 'Namespace'] as const;
export const DEFAULT_NAMESPACE = 'default';

const SPEC_FIELDS = [
  'replicas', 'image', 'command', 'args', 'env', 'envFrom', 'workingDir', 'resources', 'ports', 'network',
  'restartPolicy', 'terminationGracePeriodSeconds', 'placement', 'user', 'readOnlyRootFilesystem', 'stdin', 'tty', 'privileged', 'securityContext',
  'volumes', 'volumeMounts', 'probes', 'autoscale', 'update', 'annotations',
];

/** "uid", "uid:gid", "name" or "name:group"; names as useradd accepts them. */
const USER_SPEC = /^([0-9]+|[A-Za-z_][A-Za-z0-9_.-]*\$?)(:([0-9]+|[A-Za-z_][A-Za-z0-9_.-]*))?$/;
/** The largest uid/gid the kernel takes ((uid_t)-1 means "unchanged"). */
const MAX_ID = 2 ** 32 - 2;

type Json = Record<string, unknown>;

type ObjectKind = (typeof OBJECT_KINDS)[number];
const OBJECT_CHECKS: Record<ObjectKind, (c: Checker, doc: Json) => UserObject | undefined> = {
  Service: checkService,
  ConfigMap: checkConfigMap,
  Secret: checkSecret,
  Namespace: checkNamespace,
};

/** The complete check of a tide/v1 document of any kind; the object as stored when valid. */
export function validateObject(doc: unknown, documentIndex: number): ObjectValidationResult {
  const c = new Checker(documentIndex);
  if (!c.isObject(doc, '(document)')) return { ok: false, errors: c.errors };
  if (doc.apiVersion !== API_VERSION) c.fail('apiVersion', `must be "${API_VERSION}", got ${describe(doc.apiVersion)}`);
  const check = OBJECT_CHECKS[doc.kind as ObjectKind] as ((c: Checker, doc: Json) => UserObject | undefined) | undefined;
  if (!check) c.fail('kind', `unknown kind ${describe(doc.kind)} (known kinds: ${OBJECT_KINDS.join(', ')})`);
  const object = check?.(c, doc);
  if (c.errors.length > 0 || !object) return { ok: false, errors: c.errors.map(trimRootDot) };
  return { ok: true, object };
}

/**
 * What the control plane accepts today: a valid Service that uses no field it cannot run yet. Other
 * valid kinds and such fields are refused, each naming the field and what is missing.
 */
export function validateDocument(doc: unknown, documentIndex: number): ValidationResult {
  const kind = (doc as Json | null)?.kind;
  if (typeof doc === 'object' && doc !== null && !OBJECT_KINDS.includes(kind as never)) {
    const c = new Checker(documentIndex);
    const apiVersion = (doc as Json).apiVersion;
    if (apiVersion !== API_VERSION) {
      const hint = typeof apiVersion === 'string' && apiVersion !== '' ? ' (Kubernetes manifests: tsctl apply and tsctl convert turn them into tide/v1)' : '';
      c.fail('apiVersion', `must be "${API_VERSION}", got ${describe(apiVersion)}${hint}`);
    }
    c.fail('kind', `unknown kind ${describe(kind)} (known kinds: ${USER_KINDS.join(', ')})`);
    return { ok: false, errors: c.errors };
  }
  const result = validateObject(doc, documentIndex);
  if (!result.ok) return result;
  if (result.object.kind !== 'Service') {
    const message = result.object.kind === 'Namespace'
      ? 'Namespace is valid tide/v1, but the control plane does not store Namespaces yet (issue 19); apply it later'
      : `${result.object.kind} is valid tide/v1 but not a Service (validateApplied takes it)`;
    return { ok: false, errors: [{ document: documentIndex, path: 'kind', message }] };
  }
  const unwired = unwiredFields(result.object.spec);
  if (unwired.length > 0) return { ok: false, errors: unwired.map((u) => ({ document: documentIndex, path: u.path, message: u.message })) };
  return { ok: true, object: result.object };
}

/** What `apply` stores: a Service as validateDocument takes it, a ConfigMap, a Secret (Namespaces not yet). */
export function validateApplied(doc: unknown, documentIndex: number): AppliedValidationResult {
  const kind = (doc as Json | null)?.kind;
  if (kind !== 'ConfigMap' && kind !== 'Secret') return validateDocument(doc, documentIndex);
  const result = validateObject(doc, documentIndex);
  if (!result.ok) return result;
  return { ok: true, object: result.object as ConfigMap | Secret };
}

function checkService(c: Checker, doc: Json): Service | undefined {
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  checkMetadata(c, doc.metadata, SERVICE_NAME);
  if (c.isObject(doc.spec, 'spec')) checkServiceSpec(c, doc.spec);
  return c.errors.length > 0 ? undefined : withDefaults(doc as unknown as Service);
}

function trimRootDot(error: FieldError): FieldError {
  return { ...error, path: error.path.replace(/^\./, '') };
}

function checkServiceSpec(c: Checker, spec: Json): void {
  c.onlyKnown(spec, 'spec', SPEC_FIELDS);
  if (spec.replicas === undefined && spec.autoscale === undefined) c.fail('spec.replicas', 'required (or spec.autoscale)');
  else if (spec.replicas !== undefined) c.integer(spec.replicas, 'spec.replicas', 0, 10_000);
  if (spec.autoscale !== undefined) checkAutoscale(c, spec.autoscale, spec);
  if (spec.image === undefined) c.fail('spec.image', 'required: the image to run, e.g. busybox');
  else if (c.string(spec.image, 'spec.image') && spec.image.trim() === '') c.fail('spec.image', 'must not be empty');
  if (spec.command !== undefined) c.stringArray(spec.command, 'spec.command');
  if (spec.args !== undefined) c.stringArray(spec.args, 'spec.args');
  if (spec.env !== undefined) checkEnv(c, spec.env);
  if (spec.envFrom !== undefined) checkEnvFrom(c, spec.envFrom);
  if (spec.workingDir !== undefined && c.string(spec.workingDir, 'spec.workingDir') && !spec.workingDir.startsWith('/')) {
    c.fail('spec.workingDir', 'must be an absolute path');
  }
  if (spec.network !== undefined) c.oneOf(spec.network, 'spec.network', ['bridge', 'host']);
  if (spec.restartPolicy !== undefined) c.oneOf(spec.restartPolicy, 'spec.restartPolicy', ['Always', 'OnFailure', 'Never']);
  if (spec.terminationGracePeriodSeconds !== undefined) {
    c.integer(spec.terminationGracePeriodSeconds, 'spec.terminationGracePeriodSeconds', 0, 3600);
  }
  if (spec.user !== undefined) checkUser(c, spec.user);
  if (spec.readOnlyRootFilesystem !== undefined) c.boolean(spec.readOnlyRootFilesystem, 'spec.readOnlyRootFilesystem');
  if (spec.stdin !== undefined) c.boolean(spec.stdin, 'spec.stdin');
  if (spec.tty !== undefined) c.boolean(spec.tty, 'spec.tty');
  if (spec.privileged !== undefined) c.boolean(spec.privileged, 'spec.privileged');
  if (spec.securityContext !== undefined) checkSecurityContext(c, spec.securityContext);
  if (spec.volumes !== undefined) checkVolumes(c, spec.volumes);
  if (spec.volumeMounts !== undefined) checkVolumeMounts(c, spec.volumeMounts, spec.volumes);
  if (spec.resources !== undefined) checkResources(c, spec.resources);
  if (spec.ports !== undefined) checkPorts(c, spec.ports);
  if (spec.probes !== undefined) checkProbes(c, spec.probes, spec.ports);
  if (spec.update !== undefined) checkUpdate(c, spec.update);
  if (spec.annotations !== undefined) c.stringMap(spec.annotations, 'spec.annotations');
  if (spec.placement !== undefined && c.isObject(spec.placement, 'spec.placement')) {
    c.onlyKnown(spec.placement, 'spec.placement', ['nodeSelector', 'maxSkew']);
    if (spec.placement.nodeSelector !== undefined) c.stringMap(spec.placement.nodeSelector, 'spec.placement.nodeSelector');
    if (spec.placement.maxSkew !== undefined) c.integer(spec.placement.maxSkew, 'spec.placement.maxSkew', 1);
  }
}

function checkSecurityContext(c: Checker, context: unknown): void {
  if (!c.isObject(context, 'spec.securityContext')) return;
  c.onlyKnown(context, 'spec.securityContext', ['seccompProfile']);
  const profile = context.seccompProfile;
  if (profile === undefined || !c.isObject(profile, 'spec.securityContext.seccompProfile')) return;
  c.onlyKnown(profile, 'spec.securityContext.seccompProfile', ['type']);
  if (profile.type === 'Localhost') {
    c.fail('spec.securityContext.seccompProfile.type', 'Localhost profiles are not supported: use RuntimeDefault (the default) or Unconfined (admin only)');
  } else if (profile.type === undefined) {
    c.fail('spec.securityContext.seccompProfile.type', `required: one of ${SECCOMP_PROFILE_TYPES.join(', ')}`);
  } else c.oneOf(profile.type, 'spec.securityContext.seccompProfile.type', [...SECCOMP_PROFILE_TYPES]);
}

function checkUser(c: Checker, user: unknown): void {
  if (!c.string(user, 'spec.user')) return;
  if (!USER_SPEC.test(user)) {
    return c.fail('spec.user', `"${user}" must be "uid", "uid:gid", "name" or "name:group" (names are looked up in the image)`);
  }
  for (const id of user.split(':').filter((part) => /^[0-9]+$/.test(part))) {
    if (Number(id) > MAX_ID) c.fail('spec.user', `id ${id} is out of range (at most ${MAX_ID})`);
  }
}

function checkResources(c: Checker, resources: unknown): void {
  if (!c.isObject(resources, 'spec.resources')) return;
  c.onlyKnown(resources, 'spec.resources', ['requests', 'limits']);
  const parsed: Record<string, Record<string, number>> = {};
  for (const group of ['requests', 'limits'] as const) {
    const path = `spec.resources.${group}`;
    const value = resources[group];
    if (value === undefined || !c.isObject(value, path)) continue;
    // ephemeral-storage is a limit only: nothing schedules by it (a node's disk is not counted).
    c.onlyKnown(value, path, group === 'limits' ? ['cpu', 'memory', 'pids', 'ephemeral-storage'] : ['cpu', 'memory', 'pids']);
    parsed[group] = {};
    for (const [field, parse] of [['cpu', parseCpu], ['memory', parseMemory], ['ephemeral-storage', parseMemory]] as const) {
      const raw = value[field];
      if (raw === undefined) continue;
      if (typeof raw !== 'string' && typeof raw !== 'number') {
        c.fail(`${path}.${field}`, `must be a quantity, got ${describe(raw)}`);
        continue;
      }
      try {
        parsed[group][field] = parse(raw);
      } catch (error) {
        c.fail(`${path}.${field}`, (error as Error).message);
      }
    }
    if (value.pids !== undefined) c.integer(value.pids, `${path}.pids`, 1);
  }
  for (const field of ['cpu', 'memory']) {
    const request = parsed.requests?.[field];
    const limit = parsed.limits?.[field];
    if (request !== undefined && limit !== undefined && limit < request) {
      c.fail(`spec.resources.limits.${field}`, `must be at least the request (${field} request is larger than its limit)`);
    }
  }
}

function checkPorts(c: Checker, ports: unknown): void {
  if (!Array.isArray(ports)) return c.fail('spec.ports', `must be a list, got ${describe(ports)}`);
  const seen = new Set<string>();
  ports.forEach((port, i) => {
    const path = `spec.ports[${i}]`;
    if (!c.isObject(port, path)) return;
    c.onlyKnown(port, path, ['name', 'containerPort', 'port', 'publish', 'protocol']);
    if (port.name !== undefined) c.string(port.name, `${path}.name`);
    c.integer(port.containerPort, `${path}.containerPort`, 1, 65535);
    if (port.port !== undefined) c.integer(port.port, `${path}.port`, 1, 65535);
    const servicePort = port.port ?? port.containerPort;
    if (typeof servicePort === 'number' && seen.has(`service port:${servicePort}`)) {
      c.fail(`${path}.port`, `duplicate service port ${servicePort} (a port's port defaults to its containerPort): give each port its own`);
    }
    seen.add(`service port:${servicePort}`);
    if (port.publish !== undefined) c.integer(port.publish, `${path}.publish`, 1, 65535);
    if (port.protocol !== undefined) c.oneOf(port.protocol, `${path}.protocol`, ['TCP', 'HTTP']);
    for (const key of [`port:${port.containerPort}`, port.name === undefined ? '' : `name:${port.name}`]) {
      if (key && seen.has(key)) c.fail(path, `duplicate ${key.replace(':', ' ')}`);
      seen.add(key);
    }
  });
}

function withDefaults(service: Service): Service {
  const spec: ServiceSpec = {
    network: 'bridge',
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    ...service.spec,
    // An autoscaled service starts at its floor unless it names an initial count.
    replicas: service.spec.replicas ?? service.spec.autoscale?.minReplicas ?? 1,
  };
  return {
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: {
      name: service.metadata.name,
      namespace: service.metadata.namespace ?? DEFAULT_NAMESPACE,
      ...(service.metadata.labels ? { labels: service.metadata.labels } : {}),
      // The version the caller read: the apply writes only if it is still current.
      ...(service.metadata.resourceVersion ? { resourceVersion: service.metadata.resourceVersion } : {}),
    },
    spec,
  };
}
