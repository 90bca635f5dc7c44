/**
 * Docker's network endpoints over Tide (docker.network.model.ts says what a network is here): list,
 * inspect, create and remove, and where a created container goes: the namespace of the network named
 * by its `HostConfig.NetworkMode`, its Service named after its first alias there.
 */
import { TideContainers } from './docker.backend';
import { DockerError } from './docker.errors';
import { Filters, labelMatches, parseFilters } from './docker.filters';
import { ContainerNames, CreateBody, isServiceName } from './docker.model';
import {
  ALIASES_LABEL, DockerNetwork, NETWORK_ID_LABEL, NETWORK_LABEL, NetworkCreateBody, PREDEFINED_NETWORKS, networkEntry, networkRecord, onNetwork, predefinedNetwork,
} from './docker.network.model';

export const NETWORK_FILTERS = ['label', 'name', 'id', 'driver', 'type', 'scope'];

/** Where a created container goes, and its create body without what was read from it. */
export interface Placement {
  namespace: string;
  names: ContainerNames;
  labels: Record<string, string>;
  body: CreateBody;
}

/** The network modes of the server's own namespace. */
const OWN_MODES = ['', 'default', 'bridge', 'host'];

export class DockerNetworks {
  constructor(private readonly containers: TideContainers) {}

  async all(): Promise<DockerNetwork[]> {
    return [...PREDEFINED_NETWORKS.map((name) => predefinedNetwork(name, this.containers.namespace)), ...(await this.containers.networks())];
  }

  /** By name, full id or a unique id prefix, as dockerd resolves them. */
  async find(ref: string): Promise<DockerNetwork> {
    const all = await this.all();
    const exact = all.find((n) => n.name === ref) ?? all.find((n) => n.id === ref);
    if (exact) return exact;
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length > 1) throw new DockerError(400, `network ${ref} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    if (!byPrefix[0]) throw new DockerError(404, `network ${ref} not found`);
    return byPrefix[0];
  }

  /** `GET /networks?filters=...` (docker network ls, compose's lookups by label). */
  async list(filtersText: string | null): Promise<Array<Record<string, unknown>>> {
    const filters = parseFilters(filtersText, NETWORK_FILTERS, 'networks');
    const [networks, containers] = await Promise.all([this.all(), this.containers.list()]);
    return networks.filter((n) => networkPasses(n, filters)).map((n) => networkEntry(n, containers));
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    const [network, containers] = await Promise.all([this.find(ref), this.containers.list()]);
    return networkEntry(network, containers);
  }

  async create(body: NetworkCreateBody): Promise<{ Id: string; Warning: string }> {
    const record = networkRecord(body, this.containers.namespace);
    const all = await this.all();
    if (all.some((n) => n.name === body.Name)) throw new DockerError(409, `network with name ${body.Name} already exists`);
    // Two names that map to one namespace (a_b, a-b) would share their containers' names.
    const clash = all.find((n) => n.namespace === record.data?.namespace);
    if (clash) throw new DockerError(409, `network ${body.Name} would share Tide namespace ${clash.namespace} with network ${clash.name}: choose another name`);
    await this.containers.createNetwork(record);
    const created = (await this.containers.networks()).find((n) => n.name === body.Name);
    if (!created) throw new DockerError(500, `network "${body.Name}" was applied but is not listed: try again`);
    return { Id: created.id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    const network = await this.find(ref);
    if (network.record === undefined) throw new DockerError(403, `${network.name} is a pre-defined network and cannot be removed`);
    if ((await this.containers.list()).some((c) => onNetwork(c, network))) {
      throw new DockerError(403, `error while removing network: network ${network.name} id ${network.id} has active endpoints`);
    }
    await this.containers.removeNetwork(network);
  }

  /** A container is on the network it was created on: connecting it there again is dockerd's 403, to another Tide's 501. */
  async connect(ref: string, containerRef: string): Promise<never> {
    const [network, container] = await Promise.all([this.find(ref), this.containers.find(containerRef)]);
    if (onNetwork(container, network)) throw new DockerError(403, `endpoint with name ${containerRef} already exists in network ${network.name}`);
    throw new DockerError(501, `Tide's Docker API does not support connecting a container to a second network (${network.name}) yet: a container is on the network it was created on (HostConfig.NetworkMode)`);
  }

  async disconnect(ref: string, containerRef: string): Promise<never> {
    const [network, container] = await Promise.all([this.find(ref), this.containers.find(containerRef)]);
    if (!onNetwork(container, network)) throw new DockerError(403, `container ${container.id} is not connected to network ${network.name}`);
    throw new DockerError(501, `Tide's Docker API does not support disconnecting a container from its network (${network.name}) yet: remove the container instead`);
  }

  /**
   * The network of a create body (`HostConfig.NetworkMode`, with its `EndpointsConfig` aliases): a
   * user-defined one puts the Service in its namespace, named after the first alias that is a
   * Service name and free there (so the node's DNS answers the alias), else after the container.
   */
  async placement(names: ContainerNames, body: CreateBody): Promise<Placement> {
    const mode = body.HostConfig?.NetworkMode ?? '';
    const endpoints = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
    if (endpoints.length > 1) throw new DockerError(501, `Tide's Docker API does not support a container on more than one network (${endpoints.map(([key]) => key).join(', ')}) yet`);
    const [endpointKey, endpoint] = endpoints[0] ?? [mode, null];
    // container:ID and other modes are refused by serviceFromCreate, naming the mode.
    if (OWN_MODES.includes(mode) || mode.includes(':')) {
      if (endpoint?.Aliases?.length) throw new DockerError(400, 'network-scoped alias is supported only for containers in user defined networks');
      return { namespace: this.containers.namespace, names, labels: {}, body };
    }
    const network = await this.find(mode);
    if (endpointKey !== mode && endpointKey !== network.id) throw new DockerError(501, `Tide's Docker API does not support a container on more than one network (${mode}, ${endpointKey}) yet`);
    if (endpoint?.Links?.length) throw new DockerError(501, "Tide's Docker API does not support links (--link) yet: containers on a network reach each other by their aliases");
    if (endpoint?.IPAMConfig && Object.values(endpoint.IPAMConfig as object).some(Boolean)) throw new DockerError(501, "Tide's Docker API does not support a container's own address (--ip) yet");
    const aliases = [...new Set(endpoint?.Aliases ?? [])];
    const service = await this.freeAlias(aliases, network.namespace) ?? names.service;
    return {
      namespace: network.namespace,
      names: { docker: names.docker, service },
      labels: { [NETWORK_LABEL]: network.name, [NETWORK_ID_LABEL]: network.id, ...(aliases.length ? { [ALIASES_LABEL]: aliases.join(',') } : {}) },
      body: { ...body, HostConfig: { ...body.HostConfig, NetworkMode: undefined } },
    };
  }

  private async freeAlias(aliases: string[], namespace: string): Promise<string | undefined> {
    for (const alias of aliases.filter(isServiceName)) {
      if (!(await this.containers.service(alias, namespace))) return alias;
    }
    return undefined;
  }
}

/** dockerd's network filters: label as for containers, name a substring, id a prefix, type custom or builtin. */
function networkPasses(network: DockerNetwork, filters: Filters): boolean {
  const builtin = network.record === undefined;
  const tests: Record<string, (value: string) => boolean> = {
    label: (value) => labelMatches(network.labels, value),
    name: (value) => network.name.includes(value),
    id: (value) => network.id.startsWith(value),
    driver: (value) => value === (network.name === 'host' ? 'host' : 'bridge'),
    type: (value) => value === (builtin ? 'builtin' : 'custom'),
    scope: (value) => value === 'local',
  };
  return [...filters.entries()].every(([name, values]) => (name === 'label' ? values.every(tests.label) : values.some(tests[name])));
}
