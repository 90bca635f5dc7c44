/**
 * Docker containers as Tide objects, both ways: a `POST /containers/create` body becomes a Service of
 * its own (labelled as a Docker container, 0 replicas until started), and a Service with its current
 * replica becomes a container's state (docker.entries.ts turns it into the JSON of `docker ps` and
 * `docker inspect`). Pure functions: no I/O.
 *
 * Why a Service per container: a Service of 1 replica with `restartPolicy: Never` is already Tide's
 * one-off container (a finished replica stays, with its exit code and logs, and is not replaced), it
 * is placed by the scheduler on any node, and publishing a port on every node's balancer is a field
 * of it. Its uid is fixed for its lifetime, so the container id derived from it is stable, while the
 * replica underneath changes on every start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { Replica, RestartPolicy, Service, ServicePort } from '@tide/api';
import { DockerError } from './docker.errors';

/** The label marking a Service as a Docker container (value `container`). */
export const CONTAINER_LABEL = 'tide/docker';
/** `docker run --rm`: the Service is deleted once its container exits. */
export const AUTO_REMOVE_LABEL = 'tide/docker-auto-remove';
/** Docker's default `docker stop` grace before SIGKILL. */
export const DEFAULT_STOP_SECONDS = 10;
const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAME = 50;

/** The 64 hex digits Docker clients expect, fixed by the Service's uid (never reused by another Service). */
export function containerId(uid: string): string {
  return createHash('sha256').update(`tide-docker-container:${uid}`).digest('hex');
}

/** Docker's name rule (dockerd's validContainerNamePattern). */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The Docker name of a container whose name is not a Service name (compose's `shop_web_1`, `My.App`). */
export const NAME_LABEL = 'tide/docker-name';
/** On a container's Service: `TIDE=DOCKER` pairs of its named volumes whose Docker name is not the Tide one (docker.volume.model.ts). */
export const VOLUME_NAMES_LABEL = 'tide/docker-volumes';

export interface ContainerNames {
  /** As Docker clients see it, without the slash. */
  docker: string;
  /** The Service's: the Docker name when it is a Service name, else one made of it (lower-case, '-', a hash). */
  service: string;
}

/** Docker clients send names with or without the leading slash; none given, one is made as dockerd does. */
export function containerName(given: string | null, random = randomBytes): ContainerNames {
  if (given === null || given === '') {
    const made = `c-${random(5).toString('hex')}`;
    return { docker: made, service: made };
  }
  const name = given.replace(/^\//, '');
  if (!DOCKER_NAME.test(name)) throw new DockerError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return { docker: name, service: tideName(name) };
}

/** A Docker name as a Tide name (a DNS label): itself when it is one, else made of it (lower-case, '-', a hash). */
export function tideName(name: string): string {
  if (SERVICE_NAME.test(name) && name.length <= MAX_NAME) return name;
  // Another name maps to one Tide name, told apart from its neighbours by a hash of the whole.
  const base = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, MAX_NAME - 9).replace(/-+$/, '');
  return `${base || 'c'}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/** Whether a Docker name (an alias) is a Service name as it is. */
export function isServiceName(name: string): boolean {
  return SERVICE_NAME.test(name) && name.length <= MAX_NAME;
}

/** The name Docker clients know the container by. */
export function dockerName(service: Service): string {
  return service.metadata.labels?.[NAME_LABEL] ?? service.metadata.name;
}

/** The fields of Docker's ContainerConfig (with HostConfig) that Tide reads; the rest must be left at their defaults. */
export interface CreateBody {
  Image?: string;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StopTimeout?: number | null;
  Volumes?: Record<string, object> | null;
  /** compose: the project network's aliases (`{"NETWORK": {"Aliases": ["web"]}}`). */
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings | null> | null } | null;
  HostConfig?: {
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    AutoRemove?: boolean;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    NetworkMode?: string;
    Memory?: number;
    NanoCpus?: number;
    Binds?: string[] | null;
    Mounts?: unknown[] | null;
    Tmpfs?: Record<string, string> | null;
    Privileged?: boolean;
    ReadonlyRootfs?: boolean;
  };
}

/** One network's settings in a create body; Tide reads the aliases. */
export interface EndpointSettings {
  Aliases?: string[] | null;
  IPAMConfig?: unknown;
  Links?: string[] | null;
  [more: string]: unknown;
}

const RESTART: Record<string, RestartPolicy> = { '': 'Never', no: 'Never', always: 'Always', 'unless-stopped': 'Always', 'on-failure': 'OnFailure' };

/** The Service document a create body asks for, or a DockerError naming the field Tide does not take. */
export function serviceFromCreate(names: ContainerNames, namespace: string, body: CreateBody, networkLabels: Record<string, string> = {}): Service {
  refuseUnsupported(body);
  if (!body.Image) throw new DockerError(400, 'Config.Image: required (the image to run)');
  const host = body.HostConfig ?? {};
  const restartPolicy = RESTART[host.RestartPolicy?.Name ?? ''];
  if (restartPolicy === undefined) throw new DockerError(400, `HostConfig.RestartPolicy.Name: "${host.RestartPolicy?.Name}" is not one of no, always, unless-stopped, on-failure`);
  const limits = {
    ...(host.Memory ? { memory: host.Memory } : {}),
    ...(host.NanoCpus ? { cpu: `${Math.max(1, Math.round(host.NanoCpus / 1e6))}m` } : {}),
  };
  const ports = portsOf(body);
  return {
    apiVersion: 'tide/v1',
    kind: 'Service',
    metadata: {
      name: names.service, namespace,
      labels: {
        ...(body.Labels ?? {}), ...networkLabels, [CONTAINER_LABEL]: 'container',
        ...(names.docker !== names.service ? { [NAME_LABEL]: names.docker } : {}),
        ...(host.AutoRemove ? { [AUTO_REMOVE_LABEL]: 'true' } : {}),
      },
    },
    spec: {
      // Created, not started: `docker start` scales it to 1.
      replicas: 0,
      image: body.Image,
      ...(body.Entrypoint?.length ? { command: body.Entrypoint } : {}),
      ...(body.Cmd?.length ? { args: body.Cmd } : {}),
      ...(body.Env?.length ? { env: envOf(body.Env) } : {}),
      ...(body.WorkingDir ? { workingDir: body.WorkingDir } : {}),
      ...(body.User ? { user: body.User } : {}),
      ...(Object.keys(limits).length ? { resources: { limits } } : {}),
      ...(ports.length ? { ports } : {}),
      ...(host.NetworkMode === 'host' ? { network: 'host' as const } : {}),
      ...(host.ReadonlyRootfs ? { readOnlyRootFilesystem: true } : {}),
      ...(body.OpenStdin ? { stdin: true } : {}),
      ...(body.Tty ? { tty: true } : {}),
      restartPolicy,
      terminationGracePeriodSeconds: body.StopTimeout ?? DEFAULT_STOP_SECONDS,
    },
  };
}

/** What a create may ask that Tide cannot give yet: 501 naming it, rather than a container that is not what was asked. */
function refuseUnsupported(body: CreateBody): void {
  const host = body.HostConfig ?? {};
  const missing = [
    host.Privileged && 'privileged containers (--privileged): use a Tide Service with privileged: true',
    host.NetworkMode && !['default', 'bridge', 'host', ''].includes(host.NetworkMode) && `network "${host.NetworkMode}" (only bridge and host)`,
  ].filter((reason): reason is string => typeof reason === 'string' && reason !== '');
  if (missing.length) throw new DockerError(501, `Tide's Docker API does not support ${missing.join('; ')} yet`);
}

function envOf(env: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const cut = entry.indexOf('=');
    // "-e NAME" without a value passes the client's own value, which the docker CLI resolves before sending.
    if (cut <= 0) throw new DockerError(400, `Env: "${entry}" is not NAME=VALUE`);
    out[entry.slice(0, cut)] = entry.slice(cut + 1);
  }
  return out;
}

/** ExposedPorts and PortBindings ("80/tcp" → [{HostPort: "8080"}]) as Service ports; a binding publishes on every node. */
function portsOf(body: CreateBody): ServicePort[] {
  const bindings = body.HostConfig?.PortBindings ?? {};
  const keys = [...new Set([...Object.keys(body.ExposedPorts ?? {}), ...Object.keys(bindings)])];
  return keys.map((key) => {
    const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!match) throw new DockerError(400, `ExposedPorts: "${key}" is not PORT/PROTOCOL`);
    if (match[2] && match[2] !== 'tcp') throw new DockerError(501, `Tide's Docker API does not support ${match[2]} ports yet (${key}): only tcp`);
    const hostPorts = (bindings[key] ?? []).map((b) => b.HostPort ?? '');
    if (hostPorts.length > 1) throw new DockerError(501, `port ${key}: Tide publishes a port once, on every node; got ${hostPorts.length} bindings`);
    const containerPort = Number(match[1]);
    if (hostPorts.length === 0) return { containerPort };
    if (!/^\d{1,5}$/.test(hostPorts[0])) throw new DockerError(501, `port ${key}: give the host port (-p HOSTPORT:${containerPort}); Tide does not pick one yet`);
    return { containerPort, publish: Number(hostPorts[0]) };
  });
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited' | 'removing';

/** A Docker container: its Service and the replica running it now (the newest, when a restart overlaps). */
export interface Container {
  id: string;
  service: Service;
  replica?: Replica;
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: false;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export const NEVER = '0001-01-01T00:00:00Z';

/**
 * Docker's state from Tide's: no replica is "created" before the first start (generation 1: the
 * Service was never scaled) and "exited" after (`docker stop` scales to 0, which takes the replica and
 * its exit status away); a finished replica is "exited" with its exit code; a frozen one "paused" (and
 * Running, as dockerd has it); anything else is "running" once its node started it and "created"
 * while it waits for a node or an image.
 */
export function containerState(container: Container): ContainerState {
  const { service, replica } = container;
  const exit = replica?.status?.lastExit;
  const phase = replica?.status?.phase;
  const finished = phase === 'Succeeded' || phase === 'Failed';
  const status: ContainerStatus = replica?.metadata.deletionTimestamp ? 'removing'
    : finished ? 'exited'
      : phase === 'Paused' ? 'paused'
      : phase === 'Running' || phase === 'Starting' ? 'running'
        : replica || (service.metadata.generation ?? 1) <= 1 ? 'created' : 'exited';
  const stopped = !replica && status === 'exited' ? stoppedExit(service) : undefined;
  return {
    Status: status,
    Running: status === 'running' || status === 'paused',
    Paused: status === 'paused',
    Restarting: false,
    OOMKilled: exit?.reason === 'OOMKilled',
    Dead: false,
    Pid: status === 'running' || status === 'paused' ? replica?.status?.pid ?? 0 : 0,
    ExitCode: finished && exit ? exitCode(exit.code, exit.signal) : stopped?.code ?? 0,
    Error: phase === 'Failed' && exit && exit.code === null && exit.signal === null ? (replica?.status?.message ?? exit.reason) : '',
    StartedAt: replica?.status?.startedAt ?? NEVER,
    FinishedAt: finished ? exit?.finishedAt ?? NEVER : stopped?.finishedAt ?? NEVER,
  };
}

/** `docker stop` takes the replica away: its exit is kept on the Service as `CODE FINISHED-AT`. */
export const STOPPED_LABEL = 'tide/docker-stopped';

export function stoppedLabel(code: number, finishedAt: string): string {
  return `${code} ${finishedAt}`;
}

function stoppedExit(service: Service): { code: number; finishedAt: string } | undefined {
  const match = /^(\d+) (\S+)$/.exec(service.metadata.labels?.[STOPPED_LABEL] ?? '');
  return match ? { code: Number(match[1]), finishedAt: match[2] } : undefined;
}

/** A signal's death as a shell reports it (SIGKILL: 137). */
export function exitCode(code: number | null, signal: string | null): number {
  if (code !== null) return code;
  const number = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return number ? 128 + number : 0;
}

/** Docker's "Up 5 seconds", "Up 5 seconds (Paused)", "Exited (0) 2 minutes ago", "Created". */
export function statusText(state: ContainerState, nowMs: number): string {
  if (state.Status === 'running') return `Up ${humanDuration(nowMs - Date.parse(state.StartedAt))}`;
  if (state.Status === 'paused') return `Up ${humanDuration(nowMs - Date.parse(state.StartedAt))} (Paused)`;
  if (state.Status === 'created') return 'Created';
  if (state.Status === 'removing') return 'Removal In Progress';
  const finished = Date.parse(state.FinishedAt);
  return state.FinishedAt === NEVER || Number.isNaN(finished) ? `Exited (${state.ExitCode})` : `Exited (${state.ExitCode}) ${humanDuration(nowMs - finished)} ago`;
}

/** go-units' HumanDuration, which the docker CLI and daemon use. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}
