/**
 * Docker networks as Tide objects, both ways. Pure functions: no I/O.
 *
 * A user-defined network (`docker network create`, each compose project's `PROJECT_default`) is a
 * Tide namespace of its own: its containers are Services in that namespace, each named after its
 * first network alias when it can be (compose's service name: `web`), so the node's DNS answers the
 * alias through the namespace's search list (`web` → `web.NAMESPACE.svc.tide`, the Service's IP) as
 * dockerd's embedded DNS answers it on the network. The network itself is a ConfigMap in the
 * server's namespace (labelled `tide/docker=network`: Tide keeps no Namespace objects) holding its
 * Docker name and the namespace it maps to; its labels are the network's labels. The default
 * `bridge` network is the server's own namespace, `host` the host's network.
 */
import { createHash } from 'node:crypto';
import type { ConfigMap } from '@tide/api';
import { DockerError } from './docker.errors';
import { CONTAINER_LABEL, Container, dockerName, tideName } from './docker.model';

/** On a container's Service: the network it is on, its id and the aliases it was given there. */
export const NETWORK_LABEL = 'tide/docker-network';
export const NETWORK_ID_LABEL = 'tide/docker-network-id';
export const ALIASES_LABEL = 'tide/docker-aliases';

/** The networks every daemon has; `bridge` is the server's namespace. */
export const PREDEFINED_NETWORKS = ['bridge', 'host'] as const;

/** A user-defined network as the server keeps it. */
export interface DockerNetwork {
  id: string;
  name: string;
  /** The Tide namespace its containers are Services in. */
  namespace: string;
  created: string;
  labels: Record<string, string>;
  /** The ConfigMap holding it (absent for the predefined networks). */
  record?: string;
}

/** The fields of `POST /networks/create` Tide reads; the rest must be left at their defaults. */
export interface NetworkCreateBody {
  Name?: string;
  Driver?: string | null;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: { Driver?: string | null; Config?: unknown[] | null; Options?: Record<string, string> | null } | null;
  Internal?: boolean | null;
  EnableIPv6?: boolean | null;
  Attachable?: boolean | null;
  Ingress?: boolean | null;
  ConfigOnly?: boolean | null;
  ConfigFrom?: { Network?: string } | null;
  CheckDuplicate?: boolean | null;
}

export function networkId(seed: string): string {
  return createHash('sha256').update(`tide-docker-network:${seed}`).digest('hex');
}

/** The predefined network of that name in the server's namespace. */
export function predefinedNetwork(name: (typeof PREDEFINED_NETWORKS)[number], namespace: string): DockerNetwork {
  return { id: networkId(`${namespace}/${name}`), name, namespace, created: new Date(0).toISOString(), labels: {} };
}

export function isNetworkRecord(config: ConfigMap): boolean {
  return config.metadata.labels?.[CONTAINER_LABEL] === 'network';
}

export function networkOf(config: ConfigMap): DockerNetwork {
  const labels = Object.fromEntries(Object.entries(config.metadata.labels ?? {}).filter(([key]) => key !== CONTAINER_LABEL));
  return {
    id: networkId(config.metadata.uid ?? config.metadata.name), name: config.data?.name ?? config.metadata.name,
    namespace: config.data?.namespace ?? '', created: config.metadata.creationTimestamp ?? new Date(0).toISOString(), labels, record: config.metadata.name,
  };
}

/** The ConfigMap a create body asks for, or a DockerError naming what Tide does not take. */
export function networkRecord(body: NetworkCreateBody, serverNamespace: string): ConfigMap {
  const name = body.Name ?? '';
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new DockerError(400, `Name: "${name}" is not a network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
  if ((PREDEFINED_NETWORKS as readonly string[]).includes(name) || name === 'none') throw new DockerError(403, `${name} is a pre-defined network and cannot be created`);
  const missing = [
    body.Driver && body.Driver !== 'bridge' && `the "${body.Driver}" driver (only bridge)`,
    Object.keys(body.Options ?? {}).length && 'driver options (-o)',
    (body.IPAM?.Config?.length || Object.keys(body.IPAM?.Options ?? {}).length || (body.IPAM?.Driver && body.IPAM.Driver !== 'default')) && 'IPAM settings (--subnet, --ip-range, --gateway): Tide gives every container an address from the cluster\'s pod CIDR',
    body.Internal && 'internal networks (--internal): every Tide container reaches every other',
    body.EnableIPv6 && 'IPv6 (--ipv6)',
    (body.Ingress || body.ConfigOnly || body.ConfigFrom?.Network) && 'swarm networks (--ingress, --config-only, --config-from)',
  ].filter((what): what is string => typeof what === 'string' && what !== '');
  if (missing.length) throw new DockerError(501, `Tide's Docker API does not support ${missing.join('; ')} yet`);
  const namespace = tideName(name);
  return {
    apiVersion: 'tide/v1', kind: 'ConfigMap',
    metadata: { name: `docker-network-${namespace}`, namespace: serverNamespace, labels: { ...(body.Labels ?? {}), [CONTAINER_LABEL]: 'network' } },
    data: { name, namespace },
  };
}

/** `GET /networks/{id}` and each entry of `GET /networks`: the fields Docker clients read. */
export function networkEntry(network: DockerNetwork, containers: Container[]): Record<string, unknown> {
  const predefined = network.record === undefined;
  const members = containers.filter((c) => onNetwork(c, network));
  return {
    Name: network.name,
    Id: network.id,
    Created: network.created,
    Scope: 'local',
    Driver: network.name === 'host' ? 'host' : 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: !predefined,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries(members.map((c) => [c.id, {
      Name: dockerName(c.service), EndpointID: endpointId(c), MacAddress: '',
      IPv4Address: c.replica?.status?.ip ? `${c.replica.status.ip}/32` : '', IPv6Address: '',
    }])),
    Options: {},
    Labels: network.labels,
    // Not Docker's: where its containers are, for `docker network inspect -f '{{.Tide.Namespace}}'`.
    Tide: { Namespace: network.namespace },
  };
}

/** Whether the container is on the network: by its label, or for the predefined ones by its network mode. */
export function onNetwork(container: Container, network: DockerNetwork): boolean {
  const joined = container.service.metadata.labels?.[NETWORK_LABEL];
  if (network.record !== undefined) return joined === network.name;
  if (joined !== undefined) return false;
  return (container.service.spec.network === 'host' ? 'host' : 'bridge') === network.name;
}

export function endpointId(container: Container): string {
  return networkId(`endpoint:${container.id}`);
}

/** `NetworkSettings.Networks` of a container: its network, with the aliases it answers to there. */
export function containerNetworks(container: Container): Record<string, unknown> {
  const labels = container.service.metadata.labels ?? {};
  const name = labels[NETWORK_LABEL] ?? (container.service.spec.network === 'host' ? 'host' : 'bridge');
  // dockerd adds the short id to the aliases on a user-defined network; compose checks for it before
  // it would disconnect and reconnect the container.
  const aliases = labels[NETWORK_LABEL] ? [...(labels[ALIASES_LABEL] ? labels[ALIASES_LABEL].split(',') : []), container.id.slice(0, 12)] : null;
  return {
    [name]: {
      IPAMConfig: null, Links: null, Aliases: aliases, NetworkID: labels[NETWORK_ID_LABEL] ?? '', EndpointID: container.replica?.status?.ip ? endpointId(container) : '',
      Gateway: '', IPAddress: container.replica?.status?.ip ?? '', IPPrefixLen: container.replica?.status?.ip ? 32 : 0, IPv6Gateway: '',
      GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
    },
  };
}
