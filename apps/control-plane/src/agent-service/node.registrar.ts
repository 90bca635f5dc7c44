/**
 * Nodes joining and staying: a registration grants the node's lease and records it Ready with its
 * slice of the container network; heartbeats renew the lease and record the node's images (and local volumes) when its
 * agent reports that they changed.
 */
import { Node, NodeCondition, NodeHeartbeat, NodeStatus, NodeRegistration, PodNetworkMode, RegistrationAnswer, canonicalJson } from '@tide/api';
import { ClusterCache, NodeLeases, ObjectStore } from '@tide/store';
import { EventRecorder } from '../controllers/events.recorder';
import { PodCidrAllocator } from '../network/pod-cidr.allocator';

export interface NodeRegistrarOptions {
  store: ObjectStore;
  cache: ClusterCache;
  leases: NodeLeases;
  events: EventRecorder;
  podCidrs: PodCidrAllocator;
  /** How often agents are asked to renew their lease. */
  heartbeatIntervalMs: number;
  /** The service range (--service-cidr), told to agents: their nodes keep its addresses local. */
  serviceCidr?: string;
  /** `--pod-network`, told to every agent at registration. */
  podNetwork?: PodNetworkMode;
}

export class NodeRegistrar {
  constructor(private readonly options: NodeRegistrarOptions) {}

  /** Records the node ready with its slice of the container network, which it answers. */
  async register(registration: NodeRegistration): Promise<RegistrationAnswer> {
    const { store, leases, podCidrs, events } = this.options;
    const name = registration.nodeName;
    const resources = (r: NodeRegistration['capacity']) => ({ cpu: r.cpuMillis, memory: r.memoryBytes });
    const status = {
      capacity: resources(registration.capacity), allocatable: resources(registration.allocatable), ready: true,
      lastHeartbeat: new Date().toISOString(), images: [...registration.images].sort(),
    };
    // The lease first: a Node written ready without a live lease would be marked NotReady at once.
    await leases.grant(name);
    const existing = await store.get<Node>('Node', 'default', name);
    const podCIDR = await podCidrs.forNode(name, existing?.spec.podCIDR);
    const spec = { address: registration.address, agentPort: registration.agentPort, podCIDR };
    const labels = registration.labels;
    if (existing) {
      // The local volumes stay as last reported until the next heartbeat: they are data on the node, and
      // the scheduler must not place their users elsewhere meanwhile.
      const kept = (n: Node) => (n.status?.localVolumes ? { localVolumes: n.status.localVolumes } : {});
      await store.mutate<Node>('Node', 'default', name, (n) => ({ ...n, metadata: { ...n.metadata, labels }, spec: { ...n.spec, ...spec }, status: { ...status, ...kept(n) } }));
    } else {
      await store.create<Node>({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default', labels }, spec, status });
    }
    if (!existing?.status?.ready) {
      await events.record({ kind: 'Node', namespace: 'default', name }, 'Normal', 'NodeReady', `node registered from ${registration.address} (pod CIDR ${podCIDR})`);
    }
    return { leaseTtlSeconds: leases.ttlSeconds, heartbeatIntervalMs: this.options.heartbeatIntervalMs, podCIDR, clusterCIDR: podCidrs.clusterCidr,
      ...(this.options.serviceCidr ? { serviceCIDR: this.options.serviceCidr } : {}), ...(this.options.podNetwork ? { podNetwork: this.options.podNetwork } : {}) };
  }

  /** Renews the node's lease; false: the node is unknown (its lease expired), it must register again. */
  async heartbeat(heartbeat: NodeHeartbeat): Promise<boolean> {
    const known = await this.options.leases.renew(heartbeat.nodeName);
    if (known && heartbeat.images) await this.recordReported(heartbeat.nodeName, 'images', [...heartbeat.images].sort());
    if (known && heartbeat.localVolumes) await this.recordReported(heartbeat.nodeName, 'localVolumes', heartbeat.localVolumes);
    if (known) await this.recordConditions(heartbeat.nodeName, nodeConditions(heartbeat));
    return known;
  }

  /** Written only when they change (the cache says so first): a heartbeat is no write. */
  private async recordConditions(name: string, conditions: NodeCondition[]): Promise<void> {
    if (canonicalJson(this.options.cache.get('Node', 'default', name)?.status?.conditions ?? []) === canonicalJson(conditions)) return;
    await this.options.store.mutate<Node>('Node', 'default', name, (n) => {
      if (!n.status || canonicalJson(n.status.conditions ?? []) === canonicalJson(conditions)) return undefined;
      const status: NodeStatus = { ...n.status, conditions };
      if (conditions.length === 0) delete status.conditions;
      n.status = status;
      return n;
    });
  }

  /** A list the agent reports (its images, its local volumes), written only when it changed. */
  private async recordReported<K extends 'images' | 'localVolumes'>(name: string, field: K, value: NonNullable<NodeStatus[K]>): Promise<void> {
    if (canonicalJson(this.options.cache.get('Node', 'default', name)?.status?.[field] ?? []) === canonicalJson(value)) return;
    await this.options.store.mutate<Node>('Node', 'default', name, (n) => {
      if (!n.status || canonicalJson(n.status[field] ?? []) === canonicalJson(value)) return undefined;
      n.status = { ...n.status, [field]: value };
      return n;
    });
  }
}

/** The conditions a heartbeat says hold (DiskPressure alone, so far). */
export function nodeConditions(heartbeat: NodeHeartbeat): NodeCondition[] {
  const pressure = heartbeat.diskPressure;
  return pressure ? [{ type: 'DiskPressure', status: 'True', message: pressure.message, lastTransitionTime: new Date(pressure.sinceMs).toISOString() }] : [];
}
