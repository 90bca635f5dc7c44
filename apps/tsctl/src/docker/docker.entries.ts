/**
 * A container as Docker clients read it: the JSON of `docker ps` (`GET /containers/json`) and `docker
 * inspect` (`GET /containers/{id}/json`), from its Service and current replica (docker.model.ts) and
 * the networks it is on (docker.network.model.ts). Pure functions: no I/O.
 */
import type { Service } from '@tide/api';
import {
  AUTO_REMOVE_LABEL, CONTAINER_LABEL, Container, ContainerStatus, DEFAULT_STOP_SECONDS, NAME_LABEL, NEVER, STOPPED_LABEL, VOLUME_NAMES_LABEL,
  containerState, dockerName, statusText,
} from './docker.model';
import { ALIASES_LABEL, NETWORK_ID_LABEL, NETWORK_LABEL, containerNetworks } from './docker.network.model';

/** The command line Docker shows: the entrypoint, then the arguments. */
function commandOf(service: Service): string[] {
  return [...(service.spec.command ?? []), ...(service.spec.args ?? [])];
}

function unixSeconds(time: string | undefined): number {
  return time ? Math.floor(Date.parse(time) / 1000) : 0;
}

function portList(service: Service): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> {
  return (service.spec.ports ?? []).map((p) => (p.publish ? { IP: '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.publish, Type: 'tcp' } : { PrivatePort: p.containerPort, Type: 'tcp' }));
}

function userLabels(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(service.metadata.labels ?? {}).filter(([key]) => ![CONTAINER_LABEL, AUTO_REMOVE_LABEL, NAME_LABEL, STOPPED_LABEL, NETWORK_LABEL, NETWORK_ID_LABEL, ALIASES_LABEL, VOLUME_NAMES_LABEL].includes(key)));
}

export interface PsEntry {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  Ports: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }>;
  Labels: Record<string, string>;
  State: ContainerStatus;
  Status: string;
  [more: string]: unknown;
}

/** One entry of `GET /containers/json` (docker ps). */
export function psEntry(container: Container, nowMs: number): PsEntry {
  const { service } = container;
  const state = containerState(container);
  return {
    Id: container.id,
    Names: [`/${dockerName(service)}`],
    Image: service.spec.image,
    ImageID: '',
    Command: commandOf(service).join(' '),
    Created: unixSeconds(service.metadata.creationTimestamp),
    Ports: portList(service),
    Labels: userLabels(service),
    State: state.Status,
    Status: statusText(state, nowMs),
    HostConfig: { NetworkMode: networkMode(service) },
    NetworkSettings: { Networks: containerNetworks(container) },
    Mounts: [],
  };
}

/** HostConfig.NetworkMode: the user-defined network's name, else bridge or host. */
function networkMode(service: Service): string {
  return service.metadata.labels?.[NETWORK_LABEL] ?? (service.spec.network === 'host' ? 'host' : 'bridge');
}

/** `GET /containers/{id}/json` (docker inspect): the fields Docker clients read. */
export function inspectEntry(container: Container): Record<string, unknown> {
  const { service, replica } = container;
  const command = commandOf(service);
  const env = Object.entries(service.spec.env ?? {}).flatMap(([key, value]) => (typeof value === 'string' ? [`${key}=${value}`] : []));
  const exposed = Object.fromEntries((service.spec.ports ?? []).map((p) => [`${p.containerPort}/tcp`, {}]));
  const bindings = Object.fromEntries((service.spec.ports ?? []).map((p) => [`${p.containerPort}/tcp`, p.publish ? [{ HostIp: '0.0.0.0', HostPort: String(p.publish) }] : null]));
  return {
    Id: container.id,
    Created: service.metadata.creationTimestamp ?? NEVER,
    Path: command[0] ?? '',
    Args: command.slice(1),
    State: containerState(container),
    Image: service.spec.image,
    Name: `/${dockerName(service)}`,
    RestartCount: replica?.status?.restartCount ?? 0,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      NetworkMode: networkMode(service),
      // Tide keeps each container's output in files on its node, read through the logs endpoint as
      // dockerd's default driver's are; compose shows the logs of no container without a driver.
      LogConfig: { Type: 'json-file', Config: {} },
      PortBindings: Object.fromEntries(Object.entries(bindings).filter(([, value]) => value !== null)),
      AutoRemove: service.metadata.labels?.[AUTO_REMOVE_LABEL] === 'true',
      RestartPolicy: { Name: { Never: 'no', Always: 'always', OnFailure: 'on-failure' }[service.spec.restartPolicy ?? 'Never'], MaximumRetryCount: 0 },
    },
    Config: {
      Hostname: replica?.metadata.name ?? '',
      Image: service.spec.image,
      Cmd: service.spec.args ?? null,
      Entrypoint: service.spec.command ?? null,
      Env: env,
      WorkingDir: service.spec.workingDir ?? '',
      User: service.spec.user ?? '',
      Labels: userLabels(service),
      ExposedPorts: exposed,
      Tty: service.spec.tty ?? false,
      OpenStdin: service.spec.stdin ?? false,
      StdinOnce: service.spec.stdin ?? false,
      AttachStdout: false,
      AttachStderr: false,
      StopTimeout: service.spec.terminationGracePeriodSeconds ?? DEFAULT_STOP_SECONDS,
    },
    NetworkSettings: { IPAddress: replica?.status?.ip ?? '', Ports: bindings, Networks: containerNetworks(container) },
    Mounts: [],
    // Not Docker's: where Tide runs it, for `docker inspect -f '{{.Tide.Node}}'`.
    Tide: { Namespace: service.metadata.namespace, Service: service.metadata.name, Replica: replica?.metadata.name ?? '', Node: replica?.spec.nodeName ?? '' },
  };
}
