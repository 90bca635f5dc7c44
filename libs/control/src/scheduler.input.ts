/**
 * The scheduler's inputs made from API objects: a Node and the replicas bound to it become a
 * `NodeInfo`, a Pending Replica a `PendingReplica` (libs/scheduler knows neither Node nor Replica).
 * The scheduler loop and consolidation's what-if both build them here, so both see a node alike.
 */
import { Node, Replica, normalizeImageReference } from '@tide/api';
import { NodeInfo, PendingReplica, hostPortsOf } from '@tide/scheduler';
import { holdsResources } from './replica.predicates';

/**
 * A node as the scheduler sees it. Images: those the node's agent reported, limited to the images
 * some Service runs (`wanted`); nodes with different image sets are different classes for the
 * indexed placer, and images nobody asks for would split classes for nothing.
 */
export function nodeInfo(node: Node, replicas: Iterable<Replica>, wanted: ReadonlySet<string>): NodeInfo {
  const info: NodeInfo = {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    allocatable: node.status?.allocatable ?? { cpu: 0, memory: 0 },
    requested: { cpu: 0, memory: 0 },
    ready: node.status?.ready ?? false,
    // A node being emptied (drain, consolidation) takes no new replicas, as a cordoned one.
    cordoned: (node.spec.cordoned ?? false) || node.spec.drain !== undefined,
    diskPressure: (node.status?.conditions ?? []).some((c) => c.type === 'DiskPressure'),
    replicasOfService: {},
    hostPorts: new Set<number>(),
    images: new Set((node.status?.images ?? []).filter((image) => wanted.has(image))),
  };
  for (const replica of replicas) {
    if (replica.spec.nodeName !== info.name || !holdsResources(replica)) continue;
    info.requested.cpu += replica.spec.template.requests.cpuMillis;
    info.requested.memory += replica.spec.template.requests.memoryBytes;
    const key = `${replica.metadata.namespace}/${replica.spec.service}`;
    info.replicasOfService![key] = (info.replicasOfService![key] ?? 0) + 1;
    for (const port of hostPortsOf(replica.spec.template)) (info.hostPorts as Set<number>).add(port);
  }
  return info;
}

/** The replicas bound to each node, by node name, in one pass (unbound ones left out). */
export function replicasByNode(replicas: readonly Replica[]): Map<string, Replica[]> {
  const byNode = new Map<string, Replica[]>();
  for (const replica of replicas) {
    if (!replica.spec.nodeName) continue;
    const own = byNode.get(replica.spec.nodeName);
    if (own) own.push(replica);
    else byNode.set(replica.spec.nodeName, [replica]);
  }
  return byNode;
}

/**
 * Every node's view from plain lists (consolidation's what-if); images: those the replicas run.
 * `byNode`: the replicas grouped already (replicasByNode), where the caller needs them too.
 */
export function nodeInfos(nodes: readonly Node[], replicas: readonly Replica[], byNode = replicasByNode(replicas)): NodeInfo[] {
  const wanted = new Set(replicas.map((r) => normalizeImageReference(r.spec.template.image)));
  return nodes.map((node) => nodeInfo(node, byNode.get(node.metadata.name) ?? [], wanted));
}

export function toPending(replica: Replica): PendingReplica {
  const template = replica.spec.template;
  return {
    namespace: replica.metadata.namespace,
    name: replica.metadata.name,
    service: replica.spec.service,
    cpu: template.requests.cpuMillis,
    memory: template.requests.memoryBytes,
    image: normalizeImageReference(template.image),
    hostPorts: hostPortsOf(template),
    ...(template.nodeSelector ? { nodeSelector: template.nodeSelector } : {}),
    ...(template.maxSkew !== undefined ? { maxSkew: template.maxSkew } : {}),
  };
}
