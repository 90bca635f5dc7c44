/** The control plane's Prometheus metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'tide_api_request_duration_seconds', help: 'HTTP API request durations',
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
  readonly pendingReplicas = new Gauge({ name: 'tide_pending_replicas', help: 'Replicas waiting for a node', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'tide_leader', help: '1 when this control plane is the elected leader', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
