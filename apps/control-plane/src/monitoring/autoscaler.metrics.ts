/** The autoscaler's series (set by the leader each decision; other instances export none). */
import { Counter, Gauge } from 'prom-client';
import { Decision } from '@tide/autoscaler';
import { ControlPlaneMetrics } from '../metrics';

type Labels = 'namespace' | 'service';

export class AutoscalerMetrics {
  private readonly desired: Gauge<Labels>;
  private readonly current: Gauge<Labels>;
  private readonly floor: Gauge<Labels>;
  private readonly panic: Gauge<Labels>;
  private readonly cpu: Gauge<Labels>;
  private readonly requests: Gauge<Labels>;
  private readonly decisions: Counter<Labels | 'reason'>;

  constructor(metrics: ControlPlaneMetrics) {
    const registers = [metrics.registry];
    const labelNames: Labels[] = ['namespace', 'service'];
    this.desired = new Gauge({ name: 'tide_autoscaler_desired_replicas', help: 'Replicas the autoscaler decided on last', labelNames, registers });
    this.current = new Gauge({ name: 'tide_autoscaler_current_replicas', help: 'spec.replicas when the autoscaler decided last', labelNames, registers });
    this.floor = new Gauge({ name: 'tide_autoscaler_floor_replicas', help: 'minReplicas, or the floor of an active schedule', labelNames, registers });
    this.panic = new Gauge({ name: 'tide_autoscaler_panic', help: '1 while the service is in panic mode', labelNames, registers });
    this.cpu = new Gauge({ name: 'tide_autoscaler_cpu_utilization_ratio', help: 'CPU in use over the CPU request, averaged over the measured replicas (1 = 100%)', labelNames, registers });
    this.requests = new Gauge({ name: 'tide_autoscaler_requests_per_second_per_replica', help: 'Requests per second per ready replica, from the node balancers', labelNames, registers });
    this.decisions = new Counter({ name: 'tide_autoscaler_scale_decisions_total', help: 'Changes of the replica count by the autoscaler, by reason', labelNames: [...labelNames, 'reason'], registers });
  }

  observe(namespace: string, service: string, decision: Decision): void {
    const labels = { namespace, service };
    this.desired.set(labels, decision.desired);
    this.current.set(labels, decision.current);
    this.floor.set(labels, decision.floor.replicas);
    this.panic.set(labels, decision.panicUntilMs !== undefined ? 1 : 0);
    const cpu = decision.metrics.find((m) => m.metric === 'cpu');
    const requests = decision.metrics.find((m) => m.metric === 'requests');
    if (cpu) this.cpu.set(labels, cpu.observed);
    if (requests) this.requests.set(labels, requests.observed);
    if (decision.desired !== decision.current) this.decisions.inc({ ...labels, reason: decision.reason });
  }

  forget(namespace: string, service: string): void {
    for (const gauge of [this.desired, this.current, this.floor, this.panic, this.cpu, this.requests]) gauge.remove({ namespace, service });
  }
}
