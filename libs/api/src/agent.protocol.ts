/**
 * What the control plane and a node agent tell each other (proto/tide/v1/agent.proto), as domain
 * values. Nothing here knows the wire: a field that is not set is absent (never 0 or ""), enums are
 * the API's own types. libs/proto's agent.mapper.ts is the only code that converts these to and
 * from proto messages; the agent plans and the control plane decides on these types only.
 */
import { PodNetworkMode } from './cidr';
import type { ConfigData } from './config.refs';
import { ContainerExit, LocalVolumeStatus, ReplicaPhase, ReplicaTemplate, ServicePort } from './types';

/** A container port as the agent needs it (the balancer learns a port's protocol from the endpoints). */
export type AssignedPort = Pick<ServicePort, 'name' | 'containerPort' | 'publish'>;

/**
 * The part of a replica's template the agent runs: what only the scheduler reads (placement) stays
 * behind. A ReplicaTemplate is one (extra fields are ignored on the way out).
 */
export interface AssignedTemplate extends Omit<ReplicaTemplate, 'nodeSelector' | 'maxSkew' | 'ports'> {
  ports: AssignedPort[];
}

/** One replica desired on a node: its identity, and the template (probes resolved) it runs. */
export interface ReplicaAssignment {
  namespace: string;
  /** The replica's name, also its container's hostname. */
  name: string;
  service: string;
  templateHash: string;
  template: AssignedTemplate;
  /** The container is to be frozen (ReplicaSpec.paused); absent: running. */
  paused?: true;
}

/** Another node's slice of the container network: the agent routes to it via that node's address. */
export interface NodeSlice {
  nodeName: string;
  address: string;
  podCIDR: string;
  /** The node's agent port: its peers probe it to tell whether they are cut off (isolation.fence.ts). */
  agentPort?: number;
}

/** The agent's desired state: every message of the stream is the complete set for its node. */
export interface NodeAssignments {
  replicas: ReplicaAssignment[];
  /** The etcd revision the set was read at (monotonic for the cluster: the agent's fence). */
  revision: number;
  /** Every other node that has a slice (host-gw routes). */
  nodes: NodeSlice[];
  /**
   * On the wire only, to an agent that asked for it: `nodes` left out (empty) because the list is the
   * one of the previous message on the same stream. The agent's client fills it in again, so the
   * rest of the agent always sees the whole list.
   */
  nodesUnchanged?: true;
  /** The identity of the cluster whose state the set was read from; absent: a control plane that has none. */
  clusterId?: string;
  /**
   * The ConfigMaps and Secrets the node's replicas name (env and volumes), and no others: a node
   * never holds a Secret none of its replicas uses. Absent or empty: none.
   */
  configs?: ConfigData[];
}

/** A ready replica behind a published port. */
export interface Endpoint {
  /** Its bridge address, or its node's address for host networking. */
  address: string;
  /** The replica's containerPort. */
  port: number;
  replica: string;
  nodeName: string;
}

export type PublishProtocol = NonNullable<ServicePort['protocol']>;

/** A published port of a service (every node's balancer listens on it) and the replicas behind it. */
export interface ServiceEndpoints {
  namespace: string;
  service: string;
  publish: number;
  protocol: PublishProtocol;
  /** Ready replicas only, none while terminating. */
  endpoints: Endpoint[];
}

/** One port of a service's virtual IP and the ready replicas behind it. */
export interface VirtualPort {
  name?: string;
  /** The port on the service's IP (ServicePort.port, default its containerPort). */
  port: number;
  protocol: PublishProtocol;
  /** Ready replicas only, none while terminating; `port` of each is the replica's containerPort. */
  endpoints: Endpoint[];
}

/** A service's virtual IP (each node's balancer and DNS serve it) and its ports. */
export interface ServiceAddress {
  namespace: string;
  service: string;
  /** status.clusterIP. */
  ip: string;
  ports: VirtualPort[];
}

/** Every published port of the cluster (the same for every node); every message is the complete set. */
export interface PublishedEndpoints {
  ports: ServiceEndpoints[];
  revision: number;
  /** Every service that has its virtual IP, sorted by namespace/name (DNS names and service IPs). */
  services: ServiceAddress[];
}

/** A replica as its node's agent sees it. */
export interface ReportedReplicaStatus {
  namespace: string;
  name: string;
  /** Starting | Running | Paused | Succeeded | Failed | Terminating */
  phase: ReplicaPhase;
  ready: boolean;
  restartCount: number;
  lastExit?: ContainerExit;
  message?: string;
  /** Only while its container runs. */
  pid?: number;
  ip?: string;
  startedAt?: string;
}

export interface NodeStatusReport {
  nodeName: string;
  replicas: ReportedReplicaStatus[];
  /** "namespace/name" of replicas the agent no longer runs (stopped and cleaned up after deletion). */
  gone: string[];
}

/** Millicores and bytes. */
export interface AgentResources {
  cpuMillis: number;
  memoryBytes: number;
}

export interface NodeRegistration {
  nodeName: string;
  /** The node's own address (agent HTTP, load balancer). */
  address: string;
  /** The agent's HTTP port (/metrics, /healthz, logs). */
  agentPort: number;
  capacity: AgentResources;
  allocatable: AgentResources;
  labels: Record<string, string>;
  /** References ("name:tag") of the images in the node's store. */
  images: string[];
  /** The cluster the node belongs to (learnt at its join); absent: none known yet. */
  clusterId?: string;
}

/** The control plane's answer to a registration. */
export interface RegistrationAnswer {
  leaseTtlSeconds: number;
  /** Absent: the agent's default. */
  heartbeatIntervalMs?: number;
  /** The node's slice of the container network (absent: a control plane older than bridge networking). */
  podCIDR?: string;
  /** The whole container network. */
  clusterCIDR?: string;
  /** The service range (virtual IPs); absent: a control plane older than service IPs. */
  serviceCIDR?: string;
  /** How to reach the other nodes' slices; absent: host-gw. */
  podNetwork?: PodNetworkMode;
  /** The cluster's identity; absent: a control plane that has none. */
  clusterId?: string;
}

export interface NodeHeartbeat {
  nodeName: string;
  /** Only when the node's images changed since the control plane last acknowledged them. */
  images?: string[];
  /** Set while the node is under disk pressure; absent: it is not. */
  diskPressure?: { message: string; sinceMs: number };
  /** Only when the node's named local volumes (or their sizes) changed since last acknowledged. */
  localVolumes?: LocalVolumeStatus[];
}

/** One container's cumulative usage at the moment the agent sampled it. */
export interface ReplicaUsageSample {
  namespace: string;
  name: string;
  /** CPU time (user + system) since the container started. */
  cpuUsageSeconds: number;
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  /** The container's start: a restarted container counts CPU from 0 again. */
  startedAt: string;
}

/** The requests one service's published ports on the node took (counted as they arrive), cumulative since the agent started. */
export interface ServiceRequestCount {
  namespace: string;
  service: string;
  requestsTotal: number;
  /**
   * When the counter was read, on the agent's clock (absent: the report's timestampMs). The CPU
   * sample of a report may be older (a cached read, then the cgroups' reads): a rate of requests
   * over the sample's times instead of the counter's is off by their difference.
   */
  countedAtMs?: number;
  /**
   * Answered requests by latency, cumulative since the agent started: a count per bucket of
   * LATENCY_BOUNDS_SECONDS (above the bound before, at most its own) and one for those above the
   * last. Absent from an older agent.
   */
  latencyCounts?: number[];
}

/** About every second, from every agent. */
export interface NodeUsageReport {
  nodeName: string;
  /** When the sample was taken, on the agent's clock (rates use these). */
  timestampMs: number;
  /** Every running replica's sample; in a delta, only those that changed. */
  replicas: ReplicaUsageSample[];
  services: ServiceRequestCount[];
  /**
   * Absent or false: `replicas` is the node's complete set. True: only the samples that changed since
   * the last report acknowledged with `holdsFullSet`; every other replica is unchanged as of
   * timestampMs, except those in `gone`.
   */
  delta?: boolean;
  /** In a delta: "namespace/name" of the replicas that no longer run on the node. */
  gone?: string[];
}

/** The control plane's answer to a usage report. */
export interface UsageReportAck {
  /** It holds the node's complete set after this report, so the next may be a delta (false from an older control plane). */
  holdsFullSet: boolean;
}

/** What the agent is told to run from a replica's template: placement and port protocols stay behind. */
export function assignedTemplate(template: ReplicaTemplate): AssignedTemplate {
  const { nodeSelector: _nodeSelector, maxSkew: _maxSkew, ports, ...rest } = template;
  return {
    ...rest,
    ports: ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), containerPort: p.containerPort, ...(p.publish !== undefined ? { publish: p.publish } : {}) })),
  };
}
