/** The agent's Prometheus metrics: replicas by phase, running replicas, restarts. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { Reconciler } from './reconcile/reconciler';
import { ReplicaRecord } from './reconcile/replica.record';

export interface AgentMetrics {
  registry: Registry;
  recordRestart(record: ReplicaRecord): void;
  /** The fence refused a desired set or a control plane (control-plane/cluster.fence.ts). */
  recordRefusal(reason: string): void;
}

/**
 * How often the event loop's delay is sampled for `tide_agent_nodejs_eventloop_lag_*`. prom-client's
 * default, 10 ms, is a native timer waking the agent 100 times a second: on an idle 1,000-replica
 * node those wake-ups were most of what its main thread did (a strace of it at rest: every other
 * epoll_wait a 10 ms timeout). A stall still shows in the figures when it spans a sample.
 */
const EVENT_LOOP_SAMPLE_MS = 500;

export function createAgentMetrics(nodeName: string, reconciler: () => Reconciler | undefined): AgentMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeName });
  collectDefaultMetrics({ register: registry, prefix: 'tide_agent_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  // Gauges named like counters fail `promtool check metrics`; each has a per-type twin without _total.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`tide_agent_nodejs_${name}`);
  new Gauge({
    name: 'tide_agent_replicas', help: 'Replicas on this node by phase', labelNames: ['phase'], registers: [registry],
    collect() {
      this.reset();
      for (const view of reconciler()?.views() ?? []) this.inc({ phase: view.phase });
    },
  });
  new Gauge({
    name: 'tide_agent_replicas_running', help: 'Replicas whose container is running on this node', registers: [registry],
    collect() {
      this.set((reconciler()?.views() ?? []).filter((v) => v.phase === 'Running').length);
    },
  });
  new Gauge({
    name: 'tide_agent_replica_restarts', help: 'Restart count of each replica on this node', labelNames: ['namespace', 'replica'], registers: [registry],
    collect() {
      this.reset();
      for (const { record } of reconciler()?.views() ?? []) this.set({ namespace: record.namespace, replica: record.name }, record.restartCount);
    },
  });
  const restarts = new Counter({
    name: 'tide_agent_container_restarts_total', help: 'Containers restarted by this agent after they exited', labelNames: ['namespace', 'service'], registers: [registry],
  });
  const refusals = new Counter({
    name: 'tide_agent_fence_refusals_total', help: 'Desired sets and registrations refused by the cluster fence, by reason', labelNames: ['reason'], registers: [registry],
  });
  return {
    registry,
    recordRefusal: (reason) => refusals.inc({ reason }),
    recordRestart: (record) => restarts.inc({ namespace: record.namespace, service: record.assignment?.service ?? '' }),
  };
}
