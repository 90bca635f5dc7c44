/** The runtime's ContainerSpec for an assignment from the control plane (contract: id `<ns>.<name>`). */
import { Assignment__Output } from '@tide/proto';
import { ContainerSpec } from '@tide/runtime';

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

/** Proto numbers default to 0, which means "no limit" or "runtime default". */
function positive(value: number | undefined): number | undefined {
  return value && value > 0 ? value : undefined;
}

export function buildContainerSpec(assignment: Assignment__Output, logPath: string): ContainerSpec {
  const container = assignment.container;
  if (!container) throw new Error(`assignment ${assignment.namespace}/${assignment.name} has no container`);
  return {
    id: containerId(assignment.namespace, assignment.name),
    hostname: assignment.name,
    image: container.image,
    argv: [...container.command, ...container.args],
    env: { ...container.env },
    ...(container.workingDir ? { workingDir: container.workingDir } : {}),
    // Proto strings and bools default to "" and false: both mean "the runtime's default".
    ...(container.user ? { user: container.user } : {}),
    ...(container.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    limits: {
      cpuMillis: positive(container.cpuLimitMillis),
      cpuRequestMillis: positive(container.cpuRequestMillis),
      memoryBytes: positive(container.memoryLimitBytes),
      pids: positive(container.pidsLimit),
    },
    // An empty network comes from a control plane older than bridge networking: host, as it meant.
    network: container.network === 'bridge' ? 'bridge' : 'host',
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

export function gracePeriodSeconds(assignment: Assignment__Output | undefined): number {
  const seconds = Number(assignment?.container?.terminationGracePeriodSeconds);
  return Number.isFinite(seconds) && seconds >= 0 && assignment?.container ? seconds : DEFAULT_GRACE_SECONDS;
}

/** The grace period of an adopted container no longer desired: only its labels know it. */
export function gracePeriodFromLabels(labels: Record<string, string>): number {
  const seconds = Number(labels[LABEL.gracePeriod]);
  return labels[LABEL.gracePeriod] !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_GRACE_SECONDS;
}
