/**
 * Nodes joining and staying: a registration grants the node's lease and records it Ready with its
 * slice of the container network; heartbeats renew the lease and record the node's images when its
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
      await store.mutate<Node>('Node', 'default', name, (n) => ({ ...n, metadata: { ...n.metadata, labels }, spec: { ...n.spec, ...spec }, status }));
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
    if (known && heartbeat.images) await this.recordImages(heartbeat.nodeName, [...heartbeat.images].sort());
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

  private async recordImages(name: string, images: string[]): Promise<void> {
    if (canonicalJson(this.options.cache.get('Node', 'default', name)?.status?.images ?? []) === canonicalJson(images)) return;
    await this.options.store.mutate<Node>('Node', 'default', name, (n) => {
      if (!n.status || canonicalJson(n.status.images ?? []) === canonicalJson(images)) return undefined;
      n.status = { ...n.status, images };
      return n;
    });
  }
}

/** The conditions a heartbeat says hold (DiskPressure alone, so far). */
export function nodeConditions(heartbeat: NodeHeartbeat): NodeCondition[] {
  const pressure = heartbeat.diskPressure;
  return pressure ? [{ type: 'DiskPressure', status: 'True', message: pressure.message, lastTransitionTime: new Date(pressure.sinceMs).toISOString() }] : [];
}
