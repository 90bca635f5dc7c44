/**
 * Validation of user manifests. Every error carries the document index and the field path, all
 * errors of a document are collected, and a valid document comes back with its defaults filled.
 */
import { checkAutoscale } from './autoscale.validation';
import { Checker, FieldError, describe } from './field.checker';
import { checkProbes } from './probes';
import { checkUpdate } from './rollout';
import { parseCpu, parseMemory } from './quantity';
import { API_VERSION, Service, ServiceSpec } from './types';

export type { FieldError };

export type ValidationResult = { ok: true; object: Service } | { ok: false; errors: FieldError[] };

export const USER_KINDS = ['Service'] as const;
export const DEFAULT_NAMESPACE = 'default';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SPEC_FIELDS = [
  'replicas', 'image', 'command', 'args', 'env', 'workingDir', 'resources', 'ports', 'network',
  'restartPolicy', 'terminationGracePeriodSeconds', 'placement', 'user', 'readOnlyRootFilesystem', 'probes', 'autoscale', 'update',
];

/** "uid", "uid:gid", "name" or "name:group"; names as useradd accepts them. */
const USER_SPEC = /^([0-9]+|[A-Za-z_][A-Za-z0-9_.-]*\$?)(:([0-9]+|[A-Za-z_][A-Za-z0-9_.-]*))?$/;
/** The largest uid/gid the kernel takes ((uid_t)-1 means "unchanged"). */
const MAX_ID = 2 ** 32 - 2;

type Json = Record<string, unknown>;

export function validateDocument(doc: unknown, documentIndex: number): ValidationResult {
  const c = new Checker(documentIndex);
  if (!c.isObject(doc, '(document)')) return { ok: false, errors: c.errors };
  if (doc.apiVersion !== API_VERSION) c.fail('apiVersion', `must be "${API_VERSION}", got ${describe(doc.apiVersion)}`);
  if (!USER_KINDS.includes(doc.kind as never)) {
    c.fail('kind', `unknown kind ${describe(doc.kind)} (known kinds: ${USER_KINDS.join(', ')})`);
    return { ok: false, errors: c.errors };
  }
  c.onlyKnown(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  checkMetadata(c, doc.metadata);
  if (c.isObject(doc.spec, 'spec')) checkServiceSpec(c, doc.spec);
  if (c.errors.length > 0) return { ok: false, errors: c.errors.map(trimRootDot) };
  return { ok: true, object: withDefaults(doc as unknown as Service) };
}

function trimRootDot(error: FieldError): FieldError {
  return { ...error, path: error.path.replace(/^\./, '') };
}

function checkMetadata(c: Checker, metadata: unknown): void {
  if (!c.isObject(metadata, 'metadata')) return;
  c.onlyKnown(metadata, 'metadata', ['name', 'namespace', 'labels']);
  if (metadata.name === undefined) c.fail('metadata.name', 'required');
  else if (c.string(metadata.name, 'metadata.name') && (!DNS_LABEL.test(metadata.name) || metadata.name.length > 50)) {
    c.fail('metadata.name', `"${metadata.name}" must be lower-case letters, digits and '-', at most 50 characters`);
  }
  if (metadata.namespace !== undefined && c.string(metadata.namespace, 'metadata.namespace') && !DNS_LABEL.test(metadata.namespace)) {
    c.fail('metadata.namespace', `"${metadata.namespace}" must be lower-case letters, digits and '-'`);
  }
  if (metadata.labels !== undefined) c.stringMap(metadata.labels, 'metadata.labels');
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
  if (spec.env !== undefined) c.stringMap(spec.env, 'spec.env');
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
  if (spec.resources !== undefined) checkResources(c, spec.resources);
  if (spec.ports !== undefined) checkPorts(c, spec.ports);
  if (spec.probes !== undefined) checkProbes(c, spec.probes, spec.ports);
  if (spec.update !== undefined) checkUpdate(c, spec.update);
  if (spec.placement !== undefined && c.isObject(spec.placement, 'spec.placement')) {
    c.onlyKnown(spec.placement, 'spec.placement', ['nodeSelector', 'maxSkew']);
    if (spec.placement.nodeSelector !== undefined) c.stringMap(spec.placement.nodeSelector, 'spec.placement.nodeSelector');
    if (spec.placement.maxSkew !== undefined) c.integer(spec.placement.maxSkew, 'spec.placement.maxSkew', 1);
  }
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
    c.onlyKnown(value, path, ['cpu', 'memory', 'pids']);
    parsed[group] = {};
    for (const [field, parse] of [['cpu', parseCpu], ['memory', parseMemory]] as const) {
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
    c.onlyKnown(port, path, ['name', 'containerPort', 'publish', 'protocol']);
    if (port.name !== undefined) c.string(port.name, `${path}.name`);
    c.integer(port.containerPort, `${path}.containerPort`, 1, 65535);
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
    },
    spec,
  };
}
