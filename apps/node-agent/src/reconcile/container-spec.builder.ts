/** The runtime's ContainerSpec for an assignment from the control plane (contract: id `<ns>.<name>`). */
import { ReplicaAssignment } from '@tide/api';
import { ContainerMount, ContainerSpec } from '@tide/runtime';

/** Labels kept with the container, so that an adopted container can be matched to its replica. */
export const LABEL = {
  namespace: 'namespace',
  service: 'service',
  replica: 'replica',
  templateHash: 'templateHash',
  gracePeriod: 'terminationGracePeriodSeconds',
} as const;

export const DEFAULT_GRACE_SECONDS = 30;

export function containerId(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

export function replicaKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** What the node resolved of the replica's ConfigMaps and Secrets (config.volumes.ts). */
export interface ResolvedConfig {
  /** Every variable but those from Secrets (the template's own included). */
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  mounts: ContainerMount[];
}

export function buildContainerSpec(assignment: ReplicaAssignment, logPath: string, config?: ResolvedConfig): ContainerSpec {
  const template = assignment.template;
  return {
    id: containerId(assignment.namespace, assignment.name),
    hostname: assignment.name,
    image: template.image,
    argv: [...template.command, ...template.args],
    env: { ...(config?.env ?? template.env) },
    ...(config && Object.keys(config.secretEnv).length ? { secretEnv: config.secretEnv } : {}),
    ...(config?.mounts.length ? { mounts: config.mounts } : {}),
    // Absent user, working dir or read-only flag: the runtime's (and the image's) default.
    ...(template.workingDir !== undefined ? { workingDir: template.workingDir } : {}),
    ...(template.user !== undefined ? { user: template.user } : {}),
    ...(template.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...(template.seccompProfile === 'Unconfined' ? { seccompProfile: 'Unconfined' as const } : {}),
    ...(template.stdin || template.tty ? { stdio: { stdin: template.stdin ?? false, tty: template.tty ?? false } } : {}),
    limits: {
      cpuMillis: template.limits.cpuMillis,
      // A request of 0 asks for no particular CPU weight: the runtime's default.
      cpuRequestMillis: template.requests.cpuMillis > 0 ? template.requests.cpuMillis : undefined,
      memoryBytes: template.limits.memoryBytes,
      pids: template.limits.pids,
    },
    network: template.network,
    logPath,
    labels: {
      [LABEL.namespace]: assignment.namespace,
      [LABEL.service]: assignment.service,
      [LABEL.replica]: assignment.name,
      [LABEL.templateHash]: assignment.templateHash,
      [LABEL.gracePeriod]: String(gracePeriodSeconds(assignment)),
    },
  };
}

export function gracePeriodSeconds(assignment: ReplicaAssignment): number {
  const seconds = assignment.template.terminationGracePeriodSeconds;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_GRACE_SECONDS;
}

/** The grace period of an adopted container no longer desired: only its labels know it. */
export function gracePeriodFromLabels(labels: Record<string, string>): number {
  const seconds = Number(labels[LABEL.gracePeriod]);
  return labels[LABEL.gracePeriod] !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_GRACE_SECONDS;
}
