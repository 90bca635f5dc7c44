/**
 * Resource usage as the control plane serves it (GET /api/v1/usage/nodes and /usage/replicas), from
 * the samples the agents push every second. Held in memory only, like Kubernetes' metrics-server.
 */

export interface ReplicaUsage {
  namespace: string;
  name: string;
  node: string;
  /** When the newest sample was taken (ISO 8601, the agent's clock). */
  timestamp: string;
  /** CPU cores in use over `windowSeconds` (0.25 = 250m); null until two samples of the container exist. */
  cpuCores: number | null;
  windowSeconds: number;
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
}

/** What the node's replicas use together (several local nodes share one machine, so the machine's own figures would not be the node's). */
export interface NodeUsage {
  node: string;
  timestamp: string;
  cpuCores: number;
  memoryWorkingSetBytes: number;
  /** Replicas with a sample; those whose CPU rate is not known yet count 0 cores. */
  replicas: number;
}
