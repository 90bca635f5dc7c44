/** The scheduler's view of the cluster: one snapshot, plain numbers (millicores, bytes). */

export interface Resources {
  cpu: number;
  memory: number;
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  allocatable: Resources;
  /** Sum of the requests of replicas already bound to the node. */
  requested: Resources;
  ready: boolean;
  cordoned: boolean;
  /** The node reports DiskPressure: it takes no new replicas (kubelet's disk-pressure taint). */
  diskPressure?: boolean;
  /** Replicas per service key ("namespace/service") already on the node. */
  replicasOfService?: Record<string, number>;
  /** Host ports held by replicas already on the node (host-network replicas' container ports). */
  hostPorts?: ReadonlySet<number>;
  /** Images the node already has (scheduler view only; nodes do not store this in etcd). */
  images?: ReadonlySet<string>;
}

export interface PendingReplica {
  namespace: string;
  name: string;
  service: string;
  cpu: number;
  memory: number;
  nodeSelector?: Record<string, string>;
  /** Ports the replica binds on its node's address: see hostPortsOf(). */
  hostPorts?: readonly number[];
  image?: string;
  /** How far above its fair share per node a service may go (placement.maxSkew). */
  maxSkew?: number;
  /** The named local volumes it uses that a node holds already ("namespace/name"), and that node. */
  localVolumes?: readonly { volume: string; node: string }[];
}

export interface Binding {
  replica: PendingReplica;
  node: string;
}

export interface Unschedulable {
  replica: PendingReplica;
  /** "0/5 nodes available: 3 insufficient memory, 2 not ready" */
  summary: string;
  /** node name → why the replica does not fit there */
  reasons: Record<string, string>;
}

export interface ScheduleResult {
  bindings: Binding[];
  unschedulable: Unschedulable[];
}

/**
 * What a filter may know beyond one node, computed once per replica (Kubernetes' PreFilter/CycleState).
 */
export interface ReplicaContext {
  /** Nodes that pass the replica's class filters (ready, not cordoned, matching its selector). */
  eligibleNodes: number;
  /** Replicas of the replica's service already placed, anywhere. */
  serviceReplicas: number;
}

/** A filter's verdict: feasible, or the reason it is not (never an exception). */
export type FilterStatus = { fits: true } | { fits: false; reason: string };

/**
 * Which NodeInfo fields a plugin reads decides how the indexed engine may use it without calling it
 * on every node (see indexed.placer.ts):
 * - 'class': only labels, allocatable, ready, cordoned and images, so one node answers for every
 *   node of its class;
 * - 'node' (filters): anything of the node; the engine calls it on every node it considers;
 * - 'utilization' (scores): class fields plus `requested`, and never lower when `requested` grows,
 *   so scoring a made-up node filled as much as any node of a group can be bounds the whole group.
 */
export type PluginScope = 'class' | 'node' | 'utilization';

export interface FilterPlugin {
  readonly name: string;
  readonly scope: 'class' | 'node';
  filter(replica: PendingReplica, node: NodeInfo, context: ReplicaContext): FilterStatus;
}

/** Scores are 0..100, higher is better; the engine sums weight × score. */
export interface ScorePlugin {
  readonly name: string;
  /** Absent: the engine has no way to bound the score, so it scores every feasible node. */
  readonly scope?: 'class' | 'utilization';
  score(replica: PendingReplica, node: NodeInfo): number;
}

export function serviceKey(replica: Pick<PendingReplica, 'namespace' | 'service'>): string {
  return `${replica.namespace}/${replica.service}`;
}
