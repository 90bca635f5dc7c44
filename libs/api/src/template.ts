/**
 * From a Service to the template its replicas run: quantities parsed, defaults applied, and a
 * stable hash that changes exactly when what the replicas run changes.
 */
import { createHash } from 'node:crypto';
import { resolveProbes } from './probes';
import { parseCpu, parseMemory } from './quantity';
import type { EnvVarSource } from './config.types';
import { ReplicaTemplate, Service, ServiceSpec } from './types';

export const DEFAULT_REQUESTS = { cpuMillis: 100, memoryBytes: 64 * 2 ** 20 };

export function replicaTemplate(service: Service): ReplicaTemplate {
  const spec = service.spec;
  const requests = spec.resources?.requests ?? {};
  const limits = spec.resources?.limits ?? {};
  const limitCpu = limits.cpu === undefined ? undefined : parseCpu(limits.cpu);
  const limitMemory = limits.memory === undefined ? undefined : parseMemory(limits.memory);
  const probes = resolveProbes(spec.probes, spec.ports ?? []);
  return {
    image: spec.image,
    command: spec.command ?? [],
    args: spec.args ?? [],
    env: plainEnv(spec.env),
    ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
    // A request defaults to its limit when only the limit is given, as in Kubernetes.
    requests: {
      cpuMillis: requests.cpu !== undefined ? parseCpu(requests.cpu) : limitCpu ?? DEFAULT_REQUESTS.cpuMillis,
      memoryBytes: requests.memory !== undefined ? parseMemory(requests.memory) : limitMemory ?? DEFAULT_REQUESTS.memoryBytes,
    },
    limits: {
      ...(limitCpu !== undefined ? { cpuMillis: limitCpu } : {}),
      ...(limitMemory !== undefined ? { memoryBytes: limitMemory } : {}),
      ...(limits.pids !== undefined ? { pids: limits.pids } : {}),
      ...(limits['ephemeral-storage'] !== undefined ? { ephemeralStorageBytes: parseMemory(limits['ephemeral-storage']) } : {}),
    },
    ports: spec.ports ?? [],
    network: spec.network ?? 'bridge',
    restartPolicy: spec.restartPolicy ?? 'Always',
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    ...(spec.placement?.nodeSelector ? { nodeSelector: spec.placement.nodeSelector } : {}),
    // Only when set: a template without them keeps the hash it had before these fields existed.
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    ...(spec.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...(spec.stdin ? { stdin: true } : {}),
    ...(spec.tty ? { tty: true } : {}),
    ...(spec.securityContext?.seccompProfile?.type === 'Unconfined' ? { seccompProfile: 'Unconfined' as const } : {}),
    ...(spec.placement?.maxSkew !== undefined ? { maxSkew: spec.placement.maxSkew } : {}),
    ...(probes ? { probes } : {}),
    ...configTemplate(service),
    ...(spec.annotations && Object.keys(spec.annotations).length > 0 ? { annotations: spec.annotations } : {}),
  };
}

/**
 * What the replicas read from ConfigMaps and Secrets: the references (the agent resolves them on its
 * node, so no value is ever in a Replica) and the digest of the values the env reads. Each only when
 * set: a template without them keeps the hash it had before these fields existed.
 */
function configTemplate(service: Service): Partial<ReplicaTemplate> {
  const spec = service.spec;
  const envRefs: Record<string, EnvVarSource> = {};
  for (const [name, value] of Object.entries(spec.env ?? {})) if (typeof value !== 'string') envRefs[name] = value.valueFrom;
  const reads = Object.keys(envRefs).length > 0 || (spec.envFrom?.length ?? 0) > 0;
  return {
    ...(Object.keys(envRefs).length > 0 ? { envRefs } : {}),
    ...(spec.envFrom?.length ? { envFrom: spec.envFrom } : {}),
    ...(spec.volumes?.length ? { volumes: spec.volumes } : {}),
    ...(spec.volumeMounts?.length ? { volumeMounts: spec.volumeMounts } : {}),
    ...(reads && service.status?.configHash ? { configHash: service.status.configHash } : {}),
  };
}

/** The string variables of `spec.env`; `valueFrom` entries are `envRefs`, resolved on the node. */
function plainEnv(env: ServiceSpec['env']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env ?? {})) if (typeof value === 'string') out[name] = value;
  return out;
}

/** JSON with object keys sorted, so that equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function templateHash(template: ReplicaTemplate): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, 10);
}

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `<service>-<hash5>-<random5>`: the replica's name and its container's hostname. */
export function replicaName(service: string, hash: string, random: () => number = Math.random): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(random() * NAME_ALPHABET.length)];
  return `${service}-${hash.slice(0, 5)}-${suffix}`;
}

/** True when applying `b` over `a` would change nothing a user declared. */
export function specEquals(a: Service, b: Service): boolean {
  return canonicalJson([a.spec, a.metadata.labels ?? {}]) === canonicalJson([b.spec, b.metadata.labels ?? {}]);
}
