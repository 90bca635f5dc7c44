/**
 * Tide API objects (apiVersion tide/v1). These shapes are a contract: users write them in YAML,
 * the control plane stores them in etcd, tsctl prints them.
 */

import type { ConfigKind, EnvFromSource, EnvValue, EnvVarSource } from './config.types';
import type { ObjectMeta } from './object.meta';
import type { Volume, VolumeMount } from './volume.types';

export const API_VERSION = 'tide/v1';

export type Kind = 'Service' | 'Replica' | 'Node' | 'Event' | 'ServiceRevision';

export interface TideObject<K extends Kind | ConfigKind, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** Resource quantities as users write them: cpu "250m" | "0.5" | 2, memory "64Mi" | "1Gi" | bytes. */
export interface ResourceQuantities {
  cpu?: string | number;
  memory?: string | number;
  pids?: number;
  /** Limits only: the most the container's writable layer may hold ("1Gi"); over it the container is evicted. */
  'ephemeral-storage'?: string | number;
}

export interface ResourceRequirements {
  requests?: ResourceQuantities;
  limits?: ResourceQuantities;
}

export interface ServicePort {
  name?: string;
  containerPort: number;
  /**
   * The port on the service's virtual IP (`status.clusterIP`), default `containerPort`: every node's
   * balancer takes it there and sends it to a ready replica's `containerPort`.
   */
  port?: number;
  /** Port every node's load balancer listens on. */
  publish?: number;
  /**
   * How the load balancer carries the published port: TCP (default) forwards connections, HTTP
   * balances each request over keep-alive connections and counts them. TCP is the default because
   * it works for every protocol, HTTP included; HTTP on a port that does not speak it would break it.
   */
  protocol?: 'TCP' | 'HTTP';
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/**
 * A check the node agent runs against a replica (Kubernetes semantics): exactly one of `httpGet`
 * (a status from 200 to 399 passes), `tcpSocket` (a connection passes) or `exec` (exit code 0 passes).
 */
export interface Probe {
  /** `port`: a number, or the name of one of the Service's ports. */
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
  /** Seconds after the container started before the first check (default 0). */
  initialDelaySeconds?: number;
  /** Seconds between checks (default 10). */
  periodSeconds?: number;
  /** Seconds a check may take; a slower one failed (default 1). */
  timeoutSeconds?: number;
  /** Passes in a row that make a failed probe pass (default 1; liveness and startup: must be 1). */
  successThreshold?: number;
  /** Failures in a row that make the probe fail (default 3). */
  failureThreshold?: number;
}

/** A probe as the agent runs it: every number given, the path defaulted. */
export interface ResolvedProbe {
  httpGet?: { path: string; port: number };
  tcpSocket?: { port: number };
  exec?: { command: string[] };
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/**
 * readiness: only a passing replica receives traffic. liveness: a failing replica is restarted.
 * startup: until it passes, the other two do not run; failing it restarts the replica.
 */
export interface Probes<P = Probe> {
  readiness?: P;
  liveness?: P;
  startup?: P;
}

export type ProbeKind = keyof Probes;
export type NetworkMode = 'bridge' | 'host';

export interface ServiceSpec {
  replicas: number;
  image: string;
  command?: string[];
  args?: string[];
  /** NAME → a string, or `{ valueFrom: { configMapKeyRef | secretKeyRef } }` (config.types.ts). */
  env?: Record<string, EnvValue>;
  /** Every key of a ConfigMap or Secret as variables; `env` wins over them, a later source over an earlier one. */
  envFrom?: EnvFromSource[];
  workingDir?: string;
  resources?: ResourceRequirements;
  ports?: ServicePort[];
  network?: NetworkMode;
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  placement?: { nodeSelector?: Record<string, string>; maxSkew?: number };
  /** "uid", "uid:gid", "name" or "name:group" (looked up in the image); default: the image's user. */
  user?: string;
  /** Mounts the container's root filesystem read-only. */
  readOnlyRootFilesystem?: boolean;
  /** Keeps the main process's stdin open for attaching clients (Kubernetes' `stdin`, `docker run -i`). */
  stdin?: boolean;
  /** Gives the main process a terminal of the container's own (Kubernetes' `tty`, `docker run -t`). */
  tty?: boolean;
  /** Every capability and device of the node (admin only: admin.fields.ts). */
  privileged?: boolean;
  /** Kubernetes' names; only seccompProfile so far. */
  securityContext?: SecurityContext;
  /** Volumes the container may mount (volume.types.ts), each named once. */
  volumes?: Volume[];
  volumeMounts?: VolumeMount[];
  probes?: Probes;
  /**
   * Annotations of the replicas' template: part of the template, so changing one rolls the replicas
   * (`tsctl rollout restart` sets `tide/restartedAt`, which apply keeps when the manifest does not name it).
   */
  annotations?: Record<string, string>;
  /** How a template change is rolled out (rollout.ts); not part of the template. */
  update?: UpdateStrategy;
  /**
   * Replicas follow the load between `minReplicas` and `maxReplicas` (docs/REFERENCE.md, "Autoscaling"). With
   * autoscale set, `replicas` is only the initial count (default `minReplicas`); afterwards the
   * autoscaler owns it and `apply` keeps the count it chose.
   */
  autoscale?: AutoscaleSpec;
}

/** `tide` (default): 1 s decisions, panic mode, 300 s down stabilisation. `hpa-default`: Kubernetes HPA's defaults (15 s sync, no panic). */
export type AutoscalePolicyName = 'tide' | 'hpa-default';

/** Kubernetes HPA v2 HPAScalingPolicy: at most `value` replicas (or percent of them) added/removed per `periodSeconds`. */
export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

/** Kubernetes HPA v2 HPAScalingRules. */
export interface ScalingRules {
  /** Up: the lowest recommendation over the window is used; down: the highest. */
  stabilizationWindowSeconds?: number;
  /** Max (default): the policy allowing the largest change; Min: the smallest; Disabled: never in this direction. */
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: ScalingPolicy[];
}

/** Raises the floor to `minReplicas` from each time the cron expression fires, for `durationSeconds`. */
export interface AutoscaleSchedule {
  name?: string;
  /** Five fields: minute hour day-of-month month day-of-week ("0 0 11 11 *": 11 November, midnight). */
  cron: string;
  /** IANA zone the cron fields are read in (default UTC), e.g. Asia/Shanghai. */
  timeZone?: string;
  minReplicas: number;
  durationSeconds: number;
}

export interface AutoscaleSpec {
  /** Default 1. */
  minReplicas?: number;
  maxReplicas: number;
  /** Average CPU in use as a percentage of the CPU request, per replica. */
  targetCPUUtilizationPercentage?: number;
  /** Requests per second per replica, counted by the node balancers on published HTTP ports. */
  targetRequestsPerSecond?: number;
  policy?: AutoscalePolicyName;
  behavior?: { scaleUp?: ScalingRules; scaleDown?: ScalingRules };
  /**
   * `tide` policy only. Panic starts when a reading is at least `thresholdPercentage` of the target
   * and lasts `windowSeconds` past the last such reading: the count jumps to what the load needs and
   * never goes down meanwhile (defaults 6 s, 200%).
   */
  panic?: { windowSeconds?: number; thresholdPercentage?: number };
  schedules?: AutoscaleSchedule[];
  /**
   * `tide` policy only, opt-in (`predictive: {}`). The autoscaler keeps the service's load per minute
   * for a week and, where the same time yesterday or a week ago rose within `horizonSeconds`
   * (default 60), scales out ahead of that rise in proportion to the load now; the node autoscaler
   * adds nodes ahead of the rise it predicts over a node's boot time.
   */
  predictive?: { horizonSeconds?: number };
}

/** One scaling decision, as kept in the Service's status (the newest few) and recorded as an Event. */
export interface AutoscaleDecision {
  time: string;
  from: number;
  to: number;
  /** ScaleUp | ScaleDown | Panic | Schedule | Bounds */
  reason: string;
  message: string;
}

/** What the autoscaler saw and chose last (written by the leader's autoscaler controller). */
export interface AutoscaleStatus {
  observedAt: string;
  currentReplicas: number;
  desiredReplicas: number;
  /** minReplicas, or the highest floor of an active schedule. */
  floor: number;
  /** The schedule raising the floor now, and until when. */
  activeSchedule?: { cron: string; name?: string; until: string };
  /** Replicas whose metrics were read. */
  measuredReplicas: number;
  /** Average over the measured replicas, percent of the CPU request. */
  cpuUtilizationPercentage?: number;
  /** Per replica (the service's total over the ready replicas). */
  requestsPerSecond?: number;
  panicUntil?: string;
  /** Predictive mode: the replicas the forecast asks for now (the load of the horizon ahead). */
  predictedReplicas?: number;
  lastScaleTime?: string;
  lastDecisions: AutoscaleDecision[];
}

/**
 * A rolling update's limits, as Kubernetes' RollingUpdate: an integer or a percentage of
 * `replicas` ("25%"; surge rounded up, unavailable rounded down).
 */
export interface UpdateStrategy {
  /** Replicas beyond `replicas` while rolling (default 25%). */
  maxSurge?: number | string;
  /** Ready replicas below `replicas` allowed while rolling (default 0: capacity never drops). */
  maxUnavailable?: number | string;
  /** A rollout that makes no progress for this long is reported stuck (default 60). */
  progressDeadlineSeconds?: number;
}

/** Kubernetes' Deployment "Progressing" condition: True while rolling or done, False once stuck. */
export interface ServiceCondition {
  type: 'Progressing';
  status: 'True' | 'False';
  /** ReplicasUpdating | NewReplicasAvailable | ProgressDeadlineExceeded */
  reason: string;
  message: string;
  /** The last time the rollout made progress (the deadline runs from here). */
  lastUpdateTime: string;
  lastTransitionTime: string;
}

export interface ServiceStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas: number;
  runningReplicas: number;
  pendingReplicas: number;
  autoscale?: AutoscaleStatus;
  /** The revision (ServiceRevision NAME-N) of the current template, and that template's hash. */
  revision?: number;
  templateHash?: string;
  /** Replicas (units) on the current template, and how many of them are ready. */
  updatedReplicas?: number;
  updatedReadyReplicas?: number;
  /** Live replicas on older templates (still serving or waiting for their replacement). */
  oldReplicas?: number;
  conditions?: ServiceCondition[];
  /**
   * The service's virtual IP, from the cluster's service range: allocated once by the control plane
   * after the service is created, kept for its lifetime, freed when it is deleted.
   */
  clusterIP?: string;
  /**
   * A keyed digest of the ConfigMap and Secret values the replicas' env reads (`valueFrom`,
   * `envFrom`), kept current by the control plane (config.refs.ts): part of the template, so that
   * a change of those values rolls the service. Absent: the env reads none.
   */
  configHash?: string;
}

export type Service = TideObject<'Service', ServiceSpec, ServiceStatus>;

/** The spec fields a Service's replicas run (everything but `replicas`, `update`, `autoscale`). */
export type ServiceTemplateSpec = Omit<ServiceSpec, 'replicas' | 'update' | 'autoscale'>;

/** One template a Service ran: `/tide/v1/revisions/NS/SERVICE-N`, the last 10 kept. */
export interface ServiceRevisionSpec {
  service: string;
  revision: number;
  templateHash: string;
  template: ServiceTemplateSpec;
}

export type ServiceRevision = TideObject<'ServiceRevision', ServiceRevisionSpec, never>;

/** `POST /api/v1/services/NAME/rollback`: the revision whose template was applied again (unchanged: it is the current one). */
export interface RollbackResult {
  service: string;
  revision: number;
  action: 'rolledBack' | 'unchanged';
}

export type ReplicaPhase =
  | 'Pending'
  | 'Scheduled'
  | 'Starting'
  | 'Running'
  /** Running, its processes frozen (`tsctl replica pause`): not ready, out of every endpoint list. */
  | 'Paused'
  | 'Terminating'
  | 'Succeeded'
  | 'Failed';

/** The container a replica runs, resolved from the Service template (quantities already parsed). */
export interface ReplicaTemplate {
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  workingDir?: string;
  /** Millicores and bytes, parsed from the Service's quantities. */
  requests: { cpuMillis: number; memoryBytes: number };
  limits: { cpuMillis?: number; memoryBytes?: number; pids?: number; ephemeralStorageBytes?: number };
  ports: ServicePort[];
  network: NetworkMode;
  restartPolicy: RestartPolicy;
  terminationGracePeriodSeconds: number;
  nodeSelector?: Record<string, string>;
  user?: string;
  readOnlyRootFilesystem?: boolean;
  /** Only when set, as in ServiceSpec. */
  stdin?: boolean;
  tty?: boolean;
  /** Only when Unconfined: a template without it keeps its hash. */
  seccompProfile?: 'Unconfined';
  /** Only the probes a Service declares, defaults filled in. */
  probes?: Probes<ResolvedProbe>;
  /** placement.maxSkew, only when the Service sets it (the scheduler's default applies otherwise). */
  maxSkew?: number;
  /** `spec.env` entries read from a ConfigMap or Secret when the container starts (only when any). */
  envRefs?: Record<string, EnvVarSource>;
  /** `spec.envFrom`, only when set. */
  envFrom?: EnvFromSource[];
  /** The volumes and their mounts, only when set. */
  volumes?: Volume[];
  volumeMounts?: VolumeMount[];
  /** status.configHash: the values the env reads, so that a change of them is a new template. */
  configHash?: string;
  /** spec.annotations, only when it has any: a change (a restart) makes a new template hash. */
  annotations?: Record<string, string>;
}

/**
 * Why a replica was created in place of another: the old one stays until this one is ready, and the
 * pair counts as one replica of its service meanwhile (service.plan.ts).
 */
export interface ReplicaReplacement {
  /** Name of the replica being replaced (same namespace and service). */
  replica: string;
  /** 'Drain' | 'Consolidation' | 'Update' (a rolling update): what asked for the move, for events and progress. */
  reason: string;
  /** The node the old replica is moved off, when the move is about a node; the replacement never goes there. */
  fromNode?: string;
}

export interface ReplicaSpec {
  service: string;
  templateHash: string;
  template: ReplicaTemplate;
  nodeName?: string;
  replaces?: ReplicaReplacement;
  /** Its container is to be frozen (`POST /api/v1/replicas/NAME/pause`) until unpaused; not part of the template. */
  paused?: boolean;
}

export interface ContainerExit {
  code: number | null;
  signal: string | null;
  /** 'Completed' | 'Error' | 'OOMKilled' | 'Killed' | 'ImagePullError' ... */
  reason: string;
  finishedAt: string;
}

export interface ReplicaStatus {
  phase: ReplicaPhase;
  ready: boolean;
  restartCount: number;
  lastExit?: ContainerExit;
  /** Human-readable explanation of the current phase (why Pending, why Failed, backoff...). */
  message?: string;
  /** Per-node reasons when the scheduler could not place the replica. */
  unschedulable?: { summary: string; nodes: Record<string, string> };
  pid?: number;
  ip?: string;
  startedAt?: string;
  /** When `ready` last changed as the control plane saw it (Kubernetes: the Ready condition's lastTransitionTime). */
  readyChangedAt?: string;
}

export type Replica = TideObject<'Replica', ReplicaSpec, ReplicaStatus>;

export interface NodeResources {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

/** Replicas are being moved off the node (which takes no new ones meanwhile): a user's drain or consolidation. */
export interface NodeDrain {
  reason: 'Drain' | 'Consolidation';
  startedAt: string;
}

export interface NodeSpec {
  cordoned?: boolean;
  /** Set while the node is being emptied; cleared when it is empty or the drain is cancelled. */
  drain?: NodeDrain;
  /** Address of the node's agent and load balancer. */
  address: string;
  agentPort?: number;
  /** The node's slice of the container network (e.g. 100.64.3.0/24), given at registration. */
  podCIDR?: string;
}

export interface NodeStatus {
  capacity: NodeResources;
  allocatable: NodeResources;
  ready: boolean;
  lastHeartbeat?: string;
  /** When the node was found NotReady; its replicas are replaced once the grace period has passed. */
  notReadySince?: string;
  message?: string;
  /** References of the images in the node's store ("name:tag"), as its agent last reported them. */
  images?: string[];
  /** Conditions the node's agent reports, as Kubernetes' node conditions; only those that hold are listed. */
  conditions?: NodeCondition[];
  /** The named local volumes on the node (volume.types.ts), as its agent last reported them. */
  localVolumes?: LocalVolumeStatus[];
}

/** A named local volume a node holds, with the bytes it takes there. */
export interface LocalVolumeStatus {
  namespace: string;
  name: string;
  sizeBytes: number;
}

/** An item of GET /api/v1/volumes (`tsctl get volumes`): a named local volume, where it is, who uses it. */
export interface LocalVolumeView {
  namespace: string;
  name: string;
  node: string;
  /** As the node last reported it; absent until it does. */
  sizeBytes?: number;
  /** The replicas using it (names, sorted). */
  users: string[];
}

/** DiskPressure: a disk signal of the node crossed its threshold (the scheduler places nothing new there). */
export interface NodeCondition {
  type: 'DiskPressure';
  status: 'True';
  message: string;
  lastTransitionTime: string;
}

export type Node = TideObject<'Node', NodeSpec, NodeStatus>;

export interface EventSpec {
  involvedObject: { kind: Kind; namespace: string; name: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  timestamp: string;
  source: string;
}

export type TideEvent = TideObject<'Event', EventSpec, never>;

/** One replica of a node being emptied (`GET /api/v1/nodes/NAME/drain`). */
export interface DrainItem {
  namespace: string;
  replica: string;
  service: string;
  phase: string;
  ready: boolean;
  /** The replica standing in for this one, once the move started. */
  replacement?: { name: string; node?: string; phase: string; ready: boolean };
  /** This replica is itself a replacement whose move is not done: it is moved once it is ready. */
  surge: boolean;
  /** No other node can take the replacement (the scheduler's summary is in the message). */
  stuck: boolean;
  message: string;
}

/** How far the emptying of a node has come: the answer of the drain routes, printed by `tsctl drain`. */
export interface DrainProgress {
  node: string;
  cordoned: boolean;
  drain?: NodeDrain;
  /** Nothing left to move and nothing still stopping. */
  empty: boolean;
  /** Replicas still to be moved off the node. */
  remaining: DrainItem[];
  /** Replicas on the node that are stopping (their grace period), with their replacement when they were moved. */
  stopping: DrainItem[];
  /** Placed replacements of replicas moved off this node (by any drain of it, while they exist). */
  moved: { namespace: string; replica: string; replacement: string; node: string }[];
}

export type AnyObject = Service | Replica | Node | TideEvent | ServiceRevision;

/** RuntimeDefault (the default): Docker's default seccomp profile. Unconfined: no filter (admin only). */
export type SeccompProfileType = 'RuntimeDefault' | 'Unconfined';
export const SECCOMP_PROFILE_TYPES: readonly SeccompProfileType[] = ['RuntimeDefault', 'Unconfined'];

export interface SecurityContext {
  seccompProfile?: { type: SeccompProfileType };
}
