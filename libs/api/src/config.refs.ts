/**
 * What a replica reads from ConfigMaps and Secrets, as pure functions both sides share: which
 * objects a template names (the control plane sends a node those and no others), the keyed digest
 * of the values its env reads (status.configHash: a change rolls the service), the env a container
 * gets and the files a volume holds (the agent, from the data it was sent), and a Secret as a
 * caller without the right to its values sees it.
 */
import { createHmac } from 'node:crypto';
import type { ConfigMap, EnvFromSource, EnvVarSource, Secret } from './config.types';
import { canonicalJson } from './template';
import type { ReplicaTemplate } from './types';
import type { KeyToPath, Volume } from './volume.types';

export type ConfigObjectKind = 'ConfigMap' | 'Secret';

/** A ConfigMap's or Secret's keys as bytes (text data UTF-8, binaryData and Secret data decoded). */
export interface ConfigData {
  kind: ConfigObjectKind;
  namespace: string;
  name: string;
  data: Record<string, Buffer>;
  /** The object's resourceVersion: a new one is new content. */
  version: string;
}

/** "Secret/NS/NAME": one referenced object. */
export function configKeyOf(kind: ConfigObjectKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The shape of a template these functions read (a ReplicaTemplate or the agent's AssignedTemplate). */
export type ConfigReading = Pick<ReplicaTemplate, 'envRefs' | 'envFrom' | 'volumes'>;

/** Every object the template names (env and volumes), as configKeyOf keys in the namespace. */
export function referencedConfigs(namespace: string, template: ConfigReading): string[] {
  const keys = new Set<string>();
  for (const ref of envSources(template)) keys.add(configKeyOf(ref.kind, namespace, ref.name));
  for (const volume of template.volumes ?? []) {
    if (volume.configMap) keys.add(configKeyOf('ConfigMap', namespace, volume.configMap.name));
    if (volume.secret) keys.add(configKeyOf('Secret', namespace, volume.secret.secretName));
  }
  return [...keys];
}

interface EnvSourceRef {
  kind: ConfigObjectKind;
  name: string;
  /** A single key (valueFrom), or every key (envFrom). */
  key?: string;
  optional: boolean;
}

function envSources(template: ConfigReading): EnvSourceRef[] {
  const out: EnvSourceRef[] = [];
  for (const source of template.envFrom ?? []) out.push(fromSource(source));
  for (const ref of Object.values(template.envRefs ?? {})) out.push(keyRef(ref));
  return out;
}

function fromSource(source: EnvFromSource): EnvSourceRef {
  if (source.secretRef) return { kind: 'Secret', name: source.secretRef.name, optional: source.secretRef.optional === true };
  return { kind: 'ConfigMap', name: source.configMapRef!.name, optional: source.configMapRef!.optional === true };
}

function keyRef(ref: EnvVarSource): EnvSourceRef {
  const selector = ref.secretKeyRef ?? ref.configMapKeyRef!;
  return { kind: ref.secretKeyRef ? 'Secret' : 'ConfigMap', name: selector.name, key: selector.key, optional: selector.optional === true };
}

/**
 * HMAC-SHA256 (keyed by the control plane's digest key, never stored with it) of the values the
 * env reads: equal values give equal digests, and the digest, which lands in etcd and in replica
 * names, tells nothing of a Secret's value without the key. Undefined when the env reads none.
 */
export function configHash(namespace: string, template: ConfigReading, lookup: (key: string) => ConfigData | undefined, digestKey: Buffer): string | undefined {
  const sources = envSources(template);
  if (sources.length === 0) return undefined;
  const read = sources.map((ref) => {
    const object = lookup(configKeyOf(ref.kind, namespace, ref.name));
    if (!object) return [ref.kind, ref.name, ref.key ?? '*', null];
    const entries = ref.key === undefined ? Object.entries(object.data) : [[ref.key, object.data[ref.key]] as const];
    return [ref.kind, ref.name, ref.key ?? '*', Object.fromEntries(entries.map(([k, v]) => [k, v === undefined ? null : v.toString('base64')]))];
  });
  return createHmac('sha256', digestKey).update(canonicalJson(read)).digest('hex').slice(0, 16);
}

/** The variables a container gets: from ConfigMaps in `env`, from Secrets in `secretEnv` (never written to disk). */
export interface ResolvedEnv {
  env: Record<string, string>;
  secretEnv: Record<string, string>;
}

/** A reference the node cannot resolve: the container does not start (Kubernetes' CreateContainerConfigError). */
export class ConfigReferenceError extends Error {
  readonly code = 'CreateContainerConfigError';
}

/**
 * envFrom first (a later source over an earlier one), then `env` (plain values and valueFrom) over
 * them, as Kubernetes orders them. A Secret's value goes to `secretEnv` whatever the source.
 */
export function resolveEnv(namespace: string, template: ConfigReading & { env: Record<string, string> }, lookup: (key: string) => ConfigData | undefined): ResolvedEnv {
  const out: ResolvedEnv = { env: {}, secretEnv: {} };
  const set = (name: string, value: Buffer, secret: boolean) => {
    delete out.env[name];
    delete out.secretEnv[name];
    (secret ? out.secretEnv : out.env)[name] = value.toString('utf8');
  };
  for (const source of template.envFrom ?? []) {
    const ref = fromSource(source);
    const object = lookup(configKeyOf(ref.kind, namespace, ref.name));
    if (!object) {
      if (ref.optional) continue;
      throw new ConfigReferenceError(`${ref.kind.toLowerCase()} "${ref.name}" not found (envFrom)`);
    }
    for (const [key, value] of Object.entries(object.data)) set(`${source.prefix ?? ''}${key}`, value, ref.kind === 'Secret');
  }
  for (const [name, value] of Object.entries(template.env)) set(name, Buffer.from(value, 'utf8'), false);
  for (const [name, source] of Object.entries(template.envRefs ?? {})) {
    const ref = keyRef(source);
    const value = lookup(configKeyOf(ref.kind, namespace, ref.name))?.data[ref.key!];
    if (value === undefined) {
      if (ref.optional) continue;
      throw new ConfigReferenceError(`env ${name}: key "${ref.key}" of ${ref.kind.toLowerCase()} "${ref.name}" not found`);
    }
    set(name, value, ref.kind === 'Secret');
  }
  return out;
}

/** One file of a volume: its path inside the volume, its bytes and permission bits. */
export interface VolumeFile {
  path: string;
  data: Buffer;
  mode: number;
}

const DEFAULT_MODE = 0o644;

/**
 * The files a configMap or secret volume holds: every key (or only `items`), at the key's name (or
 * the item's path). Undefined when an optional object is missing (an empty volume); a missing
 * required object or item key throws ConfigReferenceError.
 */
export function volumeFiles(namespace: string, volume: Volume, lookup: (key: string) => ConfigData | undefined): VolumeFile[] {
  const source = volume.configMap ?? volume.secret;
  if (!source) throw new ConfigReferenceError(`volume ${volume.name}: not a configMap or secret volume`);
  const kind: ConfigObjectKind = volume.configMap ? 'ConfigMap' : 'Secret';
  const name = volume.configMap ? volume.configMap.name : volume.secret!.secretName;
  const object = lookup(configKeyOf(kind, namespace, name));
  if (!object) {
    if (source.optional) return [];
    throw new ConfigReferenceError(`volume ${volume.name}: ${kind.toLowerCase()} "${name}" not found`);
  }
  const mode = source.defaultMode ?? DEFAULT_MODE;
  const items: KeyToPath[] = source.items ?? Object.keys(object.data).sort().map((key) => ({ key, path: key }));
  const files: VolumeFile[] = [];
  for (const item of items) {
    const data = object.data[item.key];
    if (data === undefined) {
      if (source.optional) continue;
      throw new ConfigReferenceError(`volume ${volume.name}: key "${item.key}" of ${kind.toLowerCase()} "${name}" not found`);
    }
    files.push({ path: item.path, data, mode: item.mode ?? mode });
  }
  return files;
}

/** A ConfigMap's or Secret's keys as bytes (what the control plane sends the nodes). */
export function configDataOf(object: ConfigMap | Secret): ConfigData {
  const data: Record<string, Buffer> = {};
  if (object.kind === 'ConfigMap') {
    for (const [key, value] of Object.entries(object.data ?? {})) data[key] = Buffer.from(value, 'utf8');
    for (const [key, value] of Object.entries(object.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
  } else {
    for (const [key, value] of Object.entries(object.data ?? {})) data[key] = Buffer.from(value, 'base64');
  }
  const { namespace, name, resourceVersion } = object.metadata;
  return { kind: object.kind, namespace, name, data, version: resourceVersion ?? '' };
}

export const REDACTED = '<redacted>';

/** The Secret with every value replaced: keys, type and metadata stay (what a view role sees). */
export function redactSecret(secret: Secret): Secret {
  const { stringData: _never, ...rest } = secret;
  return { ...rest, ...(secret.data ? { data: Object.fromEntries(Object.keys(secret.data).map((key) => [key, REDACTED])) } : {}) };
}
