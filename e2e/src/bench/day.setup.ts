/**
 * What the `day` benchmark models, every figure a parameter with its default and where that comes
 * from (docs/BENCHMARKS.md, "day", repeats them):
 * - nodes of 8 CPU and 32 GiB (a common general-purpose cloud size), one pool, min 2, max 40;
 * - one web service, replicas of 1 CPU and 2 GiB (8 to a node), each serving `capacityRps` (100)
 *   requests per second; `autoscale.targetRequestsPerSecond` 70 (70% of that, a usual target);
 * - the trace's busiest minute of the window is `peakShare` (50%) of the pool's largest capacity
 *   (40 nodes × 8 replicas × 100 rps), so both policies have room to overshoot;
 * - a replica is ready 2 s after it is placed: the autoscale benchmark's median from the step to the
 *   first new replica ready was 1.9 s, detection included (the start benchmark's container start
 *   itself is 45 ms cold, 9 ms warm); a real application's own start adds to this, so try more;
 * - a node boots in 60 s: a cloud VM to a registered, ready node takes about 40-90 s (Karpenter and
 *   the Cluster Autoscaler documents quote about a minute); the same for both policies.
 */
import { Service, validateObject } from '@tide/api';
import { NodePool } from '@tide/control';
import { ClusterModel } from './day.cluster';

export const GiB = 2 ** 30;

export interface DayModel extends ClusterModel {
  replica: { cpu: number; memory: number };
  targetRps: number;
  minReplicas: number;
  maxReplicas: number;
  minNodes: number;
  maxNodes: number;
  /** The busiest minute of the window as a share of the pool's largest capacity. */
  peakShare: number;
}

export const DEFAULT_MODEL: DayModel = {
  capacityRps: 100, replicaStartS: 2, nodeBootS: 60,
  node: { cpu: 8000, memory: 32 * GiB },
  replica: { cpu: 1000, memory: 2 * GiB },
  targetRps: 70, minReplicas: 2, maxReplicas: 320, minNodes: 2, maxNodes: 40, peakShare: 0.5,
};

export function replicasPerNode(model: DayModel): number {
  return Math.min(Math.floor(model.node.cpu / model.replica.cpu), Math.floor(model.node.memory / model.replica.memory));
}

/** Requests per second of the busiest minute. */
export function peakRps(model: DayModel): number {
  return model.peakShare * model.maxNodes * replicasPerNode(model) * model.capacityRps;
}

export function nodePool(model: DayModel): NodePool {
  return { name: 'web', template: { cpu: model.node.cpu, memory: model.node.memory, labels: { pool: 'web' } }, minNodes: model.minNodes, maxNodes: model.maxNodes };
}

/**
 * The web service as a user would apply it, checked by the API's own validation: the same
 * targets for both policies, only `policy` (and Tide's opt-ins in `extra`) differ.
 */
export function webService(model: DayModel, policy: 'tide' | 'hpa-default', replicas: number, extra: Record<string, unknown> = {}, placement?: { maxSkew: number }): Service {
  const doc = {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas, image: 'registry.local/web:1',
      resources: { requests: { cpu: `${model.replica.cpu}m`, memory: `${model.replica.memory / 2 ** 20}Mi` } },
      ports: [{ name: 'http', containerPort: 8080, publish: 80, protocol: 'HTTP' }],
      ...(placement ? { placement } : {}),
      autoscale: { minReplicas: model.minReplicas, maxReplicas: model.maxReplicas, targetRequestsPerSecond: model.targetRps, policy, ...extra },
    },
  };
  const result = validateObject(doc, 0);
  if (!result.ok) throw new Error(`the modelled service is not valid: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return result.object as Service;
}
