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
  /** Replicas per service key ("namespace/service") already on the node. */
  replicasOfService?: Record<string, number>;
}

export interface PendingReplica {
  namespace: string;
  name: string;
  service: string;
  cpu: number;
  memory: number;
  nodeSelector?: Record<string, string>;
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

/** A filter's verdict: feasible, or the reason it is not (never an exception). */
export type FilterStatus = { fits: true } | { fits: false; reason: string };

export interface FilterPlugin {
  readonly name: string;
  filter(replica: PendingReplica, node: NodeInfo): FilterStatus;
}

/** Scores are 0..100, higher is better; the engine sums weight × score. */
export interface ScorePlugin {
  readonly name: string;
  score(replica: PendingReplica, node: NodeInfo): number;
}

export function serviceKey(replica: PendingReplica): string {
  return `${replica.namespace}/${replica.service}`;
}
