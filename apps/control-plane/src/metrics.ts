/** The control plane's Prometheus metrics (names: tide_ prefix, base units, _total counters). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'tide_api_request_duration_seconds', help: 'HTTP API request durations by route pattern, method and status code',
    labelNames: ['method', 'route', 'code'], registers: [this.registry],
  });
  readonly schedulingAttempts = new Counter({
    name: 'tide_scheduler_attempts_total', help: 'Scheduling attempts by result',
    labelNames: ['result'], registers: [this.registry],
  });
  readonly schedulingCycle = new Histogram({
    name: 'tide_scheduler_cycle_duration_seconds', help: 'Duration of a scheduling cycle (snapshot, placement, commit)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry],
  });
  readonly schedulingLatency = new Histogram({
    name: 'tide_scheduler_scheduling_duration_seconds', help: 'Time from a replica\'s creation to its binding to a node (observed by the leader)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry],
  });
  readonly pendingReplicas = new Gauge({ name: 'tide_pending_replicas', help: 'Replicas waiting for a node (set by the leader\'s scheduler)', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'tide_leader', help: '1 when this control plane is the elected leader', registers: [this.registry] });
  readonly etcdDuration = new Histogram({
    name: 'tide_etcd_request_duration_seconds', help: 'Durations of the object store\'s etcd requests by operation and object kind',
    labelNames: ['operation', 'kind'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly usageReports = new Counter({
    name: 'tide_usage_reports_total', help: 'Usage reports recorded, by source: agent (an agent connected to this instance) or peer (forwarded by another control plane)',
    labelNames: ['source'], registers: [this.registry],
  });
  readonly usagePeers = new Gauge({ name: 'tide_usage_forward_peers', help: 'Other control planes this instance forwards its agents\' usage reports to', registers: [this.registry] });
  readonly usageForwardErrors = new Counter({
    name: 'tide_usage_forward_errors_total', help: 'Usage forwarding calls to another control plane that failed (unreachable, refused, timed out), by peer id',
    labelNames: ['peer'], registers: [this.registry],
  });
  readonly usageForwardDropped = new Counter({
    name: 'tide_usage_forward_dropped_total', help: 'Usage reports dropped from a peer\'s full forwarding backlog (the node\'s next goes as a full set), by peer id',
    labelNames: ['peer'], registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters fail `promtool check metrics`; each has a per-type twin without _total.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) this.registry.removeSingleMetric(`nodejs_${name}`);
  }
}
