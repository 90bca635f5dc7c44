/** Wires the node's and its containers' resource metrics into the agent's registry (one call from node-agent.ts). */
import { Registry } from 'prom-client';
import { ContainerRuntime } from '@tide/runtime';
import { ReplicaRecord } from '../reconcile/replica.record';
import { registerContainerMetrics } from './container.metrics';
import { registerNodeMetrics } from './node.metrics';
import { UsageSampler } from './usage.sampler';

export interface ResourceMetricsOptions {
  registry: Registry;
  runtime: Pick<ContainerRuntime, 'usage'>;
  /** The node's replicas as the reconciler records them (their containers are sampled). */
  records(): Iterable<ReplicaRecord>;
  /** Directories whose filesystems are reported: the state and image dirs. */
  paths: string[];
}

export interface ResourceMetrics {
  /** Shared with the usage reporter. */
  sampler: UsageSampler;
  /** Drops the cached readings: the next scrape reads every cgroup and /proc file anew (`GET /metrics?fresh=1`). */
  expire(): void;
}

export function registerResourceMetrics(options: ResourceMetricsOptions): ResourceMetrics {
  const sampler = new UsageSampler(options.runtime, options.records);
  const nodeStats = registerNodeMetrics(options.registry, { paths: options.paths });
  registerContainerMetrics(options.registry, sampler);
  return {
    sampler,
    expire: () => {
      sampler.expire();
      nodeStats.expire();
    },
  };
}
