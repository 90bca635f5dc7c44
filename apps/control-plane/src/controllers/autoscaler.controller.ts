/**
 * The leader's autoscaler loop (once a second): for every Service with `spec.autoscale`, read its
 * load (libs/control autoscaler.load.ts: CPU from the agents' usage pushes in the shape its policy
 * reads it, requests per second from the node balancers' counters), let libs/autoscaler decide,
 * scale through spec.replicas (the service controller creates replicas or drains them gracefully),
 * record each change as an Event with the numbers behind it, and keep `status.autoscale`
 * (libs/control autoscaler.status.ts) for `tsctl describe`.
 *
 * Level-triggered: every pass re-reads the Services and Replicas, from the control plane's cache. The recommendation history is in
 * memory; when it is lost (a new leader, or this instance was not leading for a while) each service
 * starts over, seeded conservatively (see ServiceAutoscaler): no scale-down for one down window.
 */
import { Logger } from '@nestjs/common';
import { AutoscaleDecision, Replica, Service, canonicalJson } from '@tide/api';
import { Decision, ResolvedPolicy, ServiceAutoscaler, decisionText, resolvePolicy } from '@tide/autoscaler';
import { LoadSource, NodeRelease, autoscaleStatus, readLoad } from '@tide/control';
import { ClusterCache, NotFoundError, ObjectStore } from '@tide/store';
import { AutoscalerMetrics } from '../monitoring/autoscaler.metrics';
import { EventRecorder } from './events.recorder';
import { scaleService } from './service.scale';

/** A pass later than this after the previous one means the history has a hole: start over. */
const HISTORY_GAP_MS = 5000;
const STATUS_EVERY_MS = 5000;

interface Tracked {
  scaler: ServiceAutoscaler;
  policyKey: string;
  policy: ResolvedPolicy;
  statusWrittenMs: number;
}

export class AutoscalerController {
  private readonly logger = new Logger('Autoscaler');
  private readonly tracked = new Map<string, Tracked>();
  private lastPassMs?: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly load: LoadSource,
    private readonly metrics: AutoscalerMetrics,
    private readonly cache: ClusterCache,
    private readonly now: () => number = Date.now,
    /** Whether the node autoscaler would hand a node back once empty; absent without one (no node to free on scale-in). */
    private readonly handsBack?: (node: string) => boolean,
  ) {}

  async sync(): Promise<void> {
    const now = this.now();
    if (this.lastPassMs !== undefined && now - this.lastPassMs > HISTORY_GAP_MS) this.tracked.clear();
    this.lastPassMs = now;
    // Decide from a view that holds every write committed so far (our own scale and status included).
    await this.cache.fresh();
    const seen = new Set<string>();
    const release = this.handsBack ? { everyReplica: this.cache.list('Replica'), handsBack: this.handsBack } : undefined;
    for (const service of this.cache.list('Service')) {
      const key = `${service.metadata.namespace}/${service.metadata.name}`;
      if (!service.spec.autoscale) {
        if (service.status?.autoscale) await this.clearStatus(service);
        continue;
      }
      seen.add(key);
      const own = this.cache.replicasOf(service.metadata.namespace, service.metadata.name);
      await this.syncService(key, service, own, release, now).catch((error: Error) => this.logger.warn(`${key}: ${error.message}`));
    }
    for (const key of this.tracked.keys()) {
      if (seen.has(key)) continue;
      this.tracked.delete(key);
      const [namespace, name] = key.split('/');
      this.metrics.forget(namespace, name);
    }
  }

  private async syncService(key: string, service: Service, replicas: Replica[], release: NodeRelease | undefined, now: number): Promise<void> {
    const tracked = this.track(key, service, now);
    const current = service.spec.replicas;
    const decision = tracked.scaler.observe(tracked.policy, readLoad(service, replicas, this.load, now, tracked.policy, release), current);
    if (!decision) return;
    this.metrics.observe(service.metadata.namespace, service.metadata.name, decision);
    let record: AutoscaleDecision | undefined;
    if (decision.desired !== current) {
      const scaled = await scaleService(this.store, service.metadata.namespace, service.metadata.name, decision.desired,
        (s) => s.spec.replicas === current && s.spec.autoscale !== undefined);
      // Someone else changed the count meanwhile: the next pass decides from theirs.
      if (!scaled) return;
      record = { time: new Date(now).toISOString(), from: current, to: decision.desired, reason: decision.reason, message: decisionText(decision, tracked.policy) };
      await this.events.record({ kind: 'Service', namespace: service.metadata.namespace, name: service.metadata.name }, 'Normal', decision.reason, record.message);
    }
    if (record || now - tracked.statusWrittenMs >= STATUS_EVERY_MS) {
      tracked.statusWrittenMs = now;
      await this.writeStatus(service, decision, record);
    }
  }

  /**
   * Predictive mode: the replicas the service's forecast expects within `leadMs` (the node
   * autoscaler asks a node's boot ahead); undefined when it is not tracked or not predictive.
   */
  forecastReplicas(service: Service, leadMs: number): number | undefined {
    const tracked = this.tracked.get(`${service.metadata.namespace}/${service.metadata.name}`);
    return tracked?.scaler.forecastReplicas(tracked.policy, this.now(), leadMs);
  }

  /** The service's autoscaler, made anew when first seen or when its autoscale spec changed policy shape. */
  private track(key: string, service: Service, now: number): Tracked {
    const policyKey = canonicalJson(service.spec.autoscale);
    const existing = this.tracked.get(key);
    if (existing?.policyKey === policyKey) return existing;
    // A changed spec keeps the history (the windows still apply); only the policy is resolved again.
    const tracked: Tracked = existing
      ? { ...existing, policyKey, policy: resolvePolicy(service.spec.autoscale!) }
      : { scaler: new ServiceAutoscaler(now, service.spec.replicas), policyKey, policy: resolvePolicy(service.spec.autoscale!), statusWrittenMs: 0 };
    this.tracked.set(key, tracked);
    return tracked;
  }

  private async writeStatus(service: Service, decision: Decision, record: AutoscaleDecision | undefined): Promise<void> {
    await this.store.mutate<Service>('Service', service.metadata.namespace, service.metadata.name, (s) => {
      const autoscale = autoscaleStatus(decision, record, s.status?.autoscale);
      return { ...s, status: { ...(s.status ?? { replicas: 0, readyReplicas: 0, runningReplicas: 0, pendingReplicas: 0 }), autoscale } };
    }).catch(ignoreNotFound);
  }

  private async clearStatus(service: Service): Promise<void> {
    await this.store.mutate<Service>('Service', service.metadata.namespace, service.metadata.name, (s) => {
      if (!s.status?.autoscale || s.spec.autoscale) return undefined;
      const { autoscale: _dropped, ...status } = s.status;
      return { ...s, status };
    }).catch(ignoreNotFound);
  }
}

function ignoreNotFound(error: unknown): void {
  if (!(error instanceof NotFoundError)) throw error;
}
