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

/**
 * The bounds (seconds) of the balancers' latency buckets: their `tide_lb_request_duration_seconds`
 * histogram, and the counts the agents report with their request counters (ServiceRequestCount).
 * Finer at the low end, where a balancer on one machine lives.
 */
export const LATENCY_BOUNDS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The q-quantile (0.99: p99) of a latency histogram in seconds, as Prometheus' histogram_quantile
 * estimates it: linear within the bucket that holds it (from 0 for the first); a quantile in the
 * bucket above the last bound is that bound. `counts`: per bucket of `bounds`, then the one above.
 * Undefined without any count.
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: readonly number[]): number | undefined {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const count = counts[i] ?? 0;
    if (below + count >= rank && count > 0) {
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1];
}
