/**
 * What the dashboard's watch stream (`GET /api/v1/watch`, docs/REFERENCE.md) sends: compact views
 * of Nodes, Services and Replicas, a first snapshot and then batches of changes. The control plane
 * makes them from its cache; the dashboard (apps/dashboard) reads them. A replica is a few numbers
 * and names, not its template: 10,000 of them fit in a first answer of about a megabyte.
 */
import type { Node, Replica, ReplicaPhase, Service } from './types';

export interface NodeView {
  name: string;
  ready: boolean;
  cordoned: boolean;
  /** Set while the node is being emptied (a user's drain or a consolidation). */
  draining?: 'Drain' | 'Consolidation';
  /** Millicores and bytes. */
  capacity: { cpu: number; memory: number };
  allocatable: { cpu: number; memory: number };
}

export interface ServiceView {
  namespace: string;
  name: string;
  /** spec.replicas: what the user (or the autoscaler) asked for. */
  desired: number;
  /** Live replicas, and of those the ready ones (status). */
  replicas: number;
  ready: number;
  /** The ServiceRevision number of the current template. */
  revision?: number;
  /** Replicas on the current template: below `desired` while a rollout moves. */
  updated?: number;
}

export interface ReplicaView {
  namespace: string;
  name: string;
  service: string;
  /** The node it is bound to; absent while Pending. */
  node?: string;
  /** Requests: millicores and bytes. */
  cpu: number;
  memory: number;
  phase: ReplicaPhase;
  ready: boolean;
}

/** What the caller's role lets the dashboard offer (libs/auth decides; the API checks again on each call). */
export interface DashboardPermissions {
  scale: boolean;
  rollback: boolean;
  cordon: boolean;
  drain: boolean;
}

/** The stream's first message (`event: snapshot`), and again after the control plane's cache resyncs. */
export interface DashboardSnapshot {
  /** The etcd revision the views are at. */
  revision: number;
  /** The namespace watched; `*` for all. */
  namespace: string;
  /** Who the caller is (`token:abc…`, a certificate's name). */
  subject: string;
  may: DashboardPermissions;
  nodes: NodeView[];
  services: ServiceView[];
  replicas: ReplicaView[];
}

/**
 * `event: usage`: what the replicas on each node used, as the agents reported it (the numbers of
 * `tsctl top nodes`), sent after the snapshot and then every few seconds with the nodes whose
 * numbers changed. Only to callers who may read `usage/nodes`.
 */
export interface NodeUsageView {
  name: string;
  /** Millicores: the CPU rate over the last few seconds, summed over the node's replicas. */
  cpu: number;
  /** Bytes: the replicas' memory working sets, summed. */
  memory: number;
}

export interface DashboardUsage {
  nodes: NodeUsageView[];
  /** Nodes whose usage was sent before and is no longer known (their agent stopped reporting). */
  unknown: string[];
}

/** Objects changed or added (whole views), and the keys of those gone (`namespace/name`; a node's name). */
export interface ViewChanges<T> {
  upsert: T[];
  remove: string[];
}

/** `event: changes`: everything that changed since the last message, each object once, at its latest. */
export interface DashboardChanges {
  revision: number;
  nodes: ViewChanges<NodeView>;
  services: ViewChanges<ServiceView>;
  replicas: ViewChanges<ReplicaView>;
}

export function nodeView(node: Node): NodeView {
  const { status, spec } = node;
  return {
    name: node.metadata.name,
    ready: status?.ready === true,
    cordoned: spec.cordoned === true,
    ...(spec.drain ? { draining: spec.drain.reason } : {}),
    capacity: { cpu: status?.capacity?.cpu ?? 0, memory: status?.capacity?.memory ?? 0 },
    allocatable: { cpu: status?.allocatable?.cpu ?? 0, memory: status?.allocatable?.memory ?? 0 },
  };
}

export function serviceView(service: Service): ServiceView {
  const status = service.status;
  return {
    namespace: service.metadata.namespace,
    name: service.metadata.name,
    desired: service.spec.replicas,
    replicas: status?.replicas ?? 0,
    ready: status?.readyReplicas ?? 0,
    ...(status?.revision === undefined ? {} : { revision: status.revision }),
    ...(status?.updatedReplicas === undefined ? {} : { updated: status.updatedReplicas }),
  };
}

export function replicaView(replica: Replica): ReplicaView {
  const requests = replica.spec.template?.requests;
  return {
    namespace: replica.metadata.namespace,
    name: replica.metadata.name,
    service: replica.spec.service,
    ...(replica.spec.nodeName ? { node: replica.spec.nodeName } : {}),
    cpu: requests?.cpuMillis ?? 0,
    memory: requests?.memoryBytes ?? 0,
    phase: replica.status?.phase ?? 'Pending',
    ready: replica.status?.ready === true,
  };
}

/** The key a view is known by in `remove` lists and in the dashboard's maps. */
export function viewKey(view: { namespace?: string; name: string }): string {
  return view.namespace === undefined ? view.name : `${view.namespace}/${view.name}`;
}
