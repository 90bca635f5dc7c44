/**
 * One service's autoscaler: readings in, a replica count out. Pure apart from the history it keeps
 * (the clock is passed in), so every rule is a table test.
 *
 * Each tick: the reading is kept (and, for a policy reading CPU as Kubernetes does, its replicas'
 * counters go to the metrics-server emulation, which scrapes on its own clock); at most once per
 * sync period a decision is taken:
 *  1. recommendation = the largest over metrics of ceil(replicas × observed / target), observed being
 *     the mean of the metric window (tolerance band: within 10% of the target, the count the load
 *     held at the last decision, before floor and forecast); or, for
 *     CPU through the metrics server, the HPA's calculation over the last scrape (hpa.replicas.ts);
 *  2. panic (tide policy): a reading at or above threshold × target starts (or extends) a panic
 *     that lasts the panic window; meanwhile the count goes straight to the highest need seen in the
 *     panic (the fewest replicas within the tolerance band of it), never down, ignoring step limits;
 *  3. otherwise the stabilisation windows (up: lowest of the window; down: highest; `tide`: replicas
 *     that alone keep a node only for the node-release window, node.release.ts) and the step limits
 *     of the scale events in each policy period;
 *  4. finally the floor (minReplicas or an active schedule, applied at once), in predictive mode the
 *     forecast's count (applied at once too, and kept out of the windows: when the forecast falls
 *     the count falls back to what the load and the windows hold, forecast.ts), and maxReplicas.
 *
 * History lives in memory. A new instance (a new leader) knows nothing of the past minutes, so it
 * is seeded with the current count as if that had been recommended at its start: no scale-down
 * before a whole down window has passed on this instance. That costs at most one window of extra
 * replicas after a leader change and never drops capacity a lost history would have kept.
 */
import { ScaleEvent, TimedRecommendation, scaleDownLimit, scaleUpLimit, stabilize } from './behavior';
import { hpaCpuRecommendation } from './hpa.replicas';
import { MetricsServer } from './metrics.server';
import { ResolvedPolicy } from './policy';
import { MetricReading, MetricRecommendation, averageReading, combine, recommend } from './recommendation';
import { Floor, floorAt } from './schedule';
import { LoadHistory } from './forecast';
import { NodeShare, nodeReleaseCount } from './node.release';

export type DecisionReason = 'ScaleUp' | 'ScaleDown' | 'Panic' | 'Schedule' | 'Predictive' | 'Bounds' | 'Hold';

export interface Decision {
  atMs: number;
  current: number;
  desired: number;
  reason: DecisionReason;
  /** What the metrics alone asked for (before windows, limits and bounds); undefined without data. */
  recommendation?: number;
  metrics: MetricRecommendation[];
  floor: Floor;
  /** Predictive mode: what the forecast of the policy's horizon asks for, and what predicted it. */
  predicted?: { replicas: number; basis?: string };
  panicUntilMs?: number;
  /** What held the count back from the recommendation, when something did. */
  limitedBy?: string;
}

export class ServiceAutoscaler {
  private readings: MetricReading[] = [];
  private recommendations: TimedRecommendation[] = [];
  private events: ScaleEvent[] = [];
  private lastSyncMs?: number;
  private panicUntilMs?: number;
  private panicPeak = 0;
  private metricsServer?: MetricsServer;
  /** The latest load in replicas needed at the target (unrounded), for forecasts. */
  private need?: number;
  /**
   * What the load and the windows held at the last decision, before the floor and the forecast
   * raised it: the count the tolerance band keeps (see `observe`).
   */
  private held: number;

  constructor(
    private readonly startedAtMs: number,
    private readonly seedReplicas: number,
    /** Predictive mode's memory of the load: empty for a new service (or a new leader), or one kept elsewhere. */
    private readonly history = new LoadHistory(),
  ) {
    this.held = seedReplicas;
  }

  /** Keeps the reading; returns a decision when the sync period has come round, else undefined. */
  observe(policy: ResolvedPolicy, reading: MetricReading, current: number): Decision | undefined {
    const now = reading.atMs;
    this.readings.push(reading);
    this.forget(policy, now);
    this.scrape(policy, reading);
    if (this.lastSyncMs !== undefined && now - this.lastSyncMs < policy.syncPeriodMs) return undefined;
    this.lastSyncMs = now;
    const averaged = averageReading(this.readings, now - policy.metricWindowMs) ?? reading;
    // Within the tolerance band a metric recommends the count it has: the count the load held (or
    // needs now, if more), not the one a schedule's floor or the forecast raised it to. Else those
    // replicas would enter the down window as recommendations and be held for its length after the
    // floor ended or the forecast fell (the forecast's headroom is within 10% of the load, so it
    // nearly always would); and the load's own need still enters it while the floor is above it.
    const kept = Math.min(current, Math.max(this.held, loadNeed(recommend(policy, averaged, current))));
    const metrics = [...recommend(policy, averaged, kept), ...this.scrapedCpu(policy, reading, current)];
    const combined = combine(metrics);
    const floor = floorAt(policy, now);
    const predicted = this.predict(policy, metrics, now);
    const panic = this.panic(policy, reading, current);
    const base = { atMs: now, current, metrics, floor, ...(predicted ? { predicted } : {}), ...(combined ? { recommendation: combined.replicas } : {}) };
    if (panic !== undefined) {
      // The numbers behind a panic are the latest reading's, not the window's mean.
      this.recommendations.push({ atMs: now, replicas: panic });
      return this.decide(policy, { ...base, metrics: recommend(policy, reading, current), recommendation: panic }, Math.max(current, panic), true);
    }
    if (!combined) return this.decide(policy, base, current, false);
    this.recommendations.push({ atMs: now, replicas: combined.replicas });
    const { replicas, limitedBy } = this.limited(policy, current, combined.replicas, now, reading.nodes);
    return this.decide(policy, base, replicas, false, limitedBy);
  }

  /**
   * Predictive mode: keeps the load (the replicas it needs at the target, from the window's mean)
   * and answers what the forecast of the policy's horizon asks for, when that is above the load now.
   */
  private predict(policy: ResolvedPolicy, metrics: MetricRecommendation[], now: number): Decision['predicted'] {
    if (!policy.predictive || metrics.length === 0) return undefined;
    this.need = unroundedNeed(metrics);
    this.history.observe(now, this.need);
    const forecast = this.history.forecast(now, this.need, policy.predictive.horizonMs);
    if (!forecast.basis) return undefined;
    return { replicas: Math.ceil(forecast.need - 1e-9), basis: forecast.basis };
  }

  /**
   * Replicas the forecast expects the load to need within `horizonMs` (at least the load's need
   * now), for those who must act earlier than the autoscaler: the node autoscaler, a node's boot
   * ahead. Undefined outside predictive mode or before the first reading.
   */
  forecastReplicas(policy: ResolvedPolicy, nowMs: number, horizonMs: number): number | undefined {
    if (!policy.predictive || this.need === undefined) return undefined;
    return Math.min(policy.maxReplicas, Math.ceil(this.history.forecast(nowMs, this.need, horizonMs).need - 1e-9));
  }

  /** Feeds the metrics-server emulation (made on first use: a policy changed to it starts with no samples). */
  private scrape(policy: ResolvedPolicy, reading: MetricReading): void {
    const cpu = policy.cpuMetrics;
    if (cpu.source !== 'metrics-server') return;
    this.metricsServer ??= new MetricsServer(cpu.resolutionMs);
    this.metricsServer.observe(reading.atMs, reading.pods ?? []);
  }

  /** The HPA's CPU recommendation over the last scrape and the replicas as they are now. */
  private scrapedCpu(policy: ResolvedPolicy, reading: MetricReading, current: number): MetricRecommendation[] {
    const cpu = policy.cpuMetrics;
    const target = policy.targets.cpuUtilization;
    if (cpu.source !== 'metrics-server' || target === undefined || !this.metricsServer || !reading.pods) return [];
    const server = this.metricsServer;
    const out = hpaCpuRecommendation(reading.pods, (name) => server.sample(name), target, policy.tolerance, current, reading.atMs, cpu);
    return out ? [out] : [];
  }

  /**
   * The panic recommendation while panicking (from the latest reading, not the window's mean): the
   * fewest replicas that bring the load within the tolerance band of the target, the band the steady
   * path then holds them in. Not ceil(need): panic keeps the highest count of the window's readings,
   * and a load that needs exactly n replicas reads a few percent above n now and then (arrivals in
   * clumps), so ceil(need) added a replica on noise in 3 of 5 trials of the autoscale benchmark, which the
   * down window then held (8 → 9 on 80/s at 10/s a replica).
   */
  private panic(policy: ResolvedPolicy, reading: MetricReading, current: number): number | undefined {
    if (!policy.panic) return undefined;
    const metrics = recommend(policy, reading, current);
    const latest = combine(metrics);
    if (latest && latest.ratio >= policy.panic.threshold) {
      this.panicUntilMs = reading.atMs + policy.panic.windowMs;
    }
    if (this.panicUntilMs === undefined || reading.atMs >= this.panicUntilMs) {
      this.panicUntilMs = undefined;
      this.panicPeak = 0;
      return undefined;
    }
    this.panicPeak = Math.max(this.panicPeak, Math.ceil(unroundedNeed(metrics) / (1 + policy.tolerance) - 1e-9), current);
    return this.panicPeak;
  }

  /** Stabilisation windows (the down window node-aware, node.release.ts), then step limits, and which of them held the count back. */
  private limited(policy: ResolvedPolicy, current: number, recommendation: number, now: number, nodes?: NodeShare[]): { replicas: number; limitedBy?: string } {
    // As if recommended at the instance's start: it holds the down window (and the short up window) from then.
    const seeded = [{ atMs: this.startedAtMs, replicas: this.seedReplicas }];
    const held = stabilize(current, recommendation, [...this.recommendations, ...seeded], now, policy.scaleUp, policy.scaleDown);
    const stabilized = held > current ? held : Math.min(held, this.released(policy, current, recommendation, now, nodes));
    const upper = scaleUpLimit(current, this.events, now, policy.scaleUp);
    const lower = scaleDownLimit(current, this.events, now, policy.scaleDown);
    const replicas = Math.min(upper, Math.max(lower, stabilized));
    if (stabilized > upper) return { replicas, limitedBy: 'the scale-up policies' };
    if (stabilized < lower) return { replicas, limitedBy: 'the scale-down policies' };
    if (stabilized === recommendation) return { replicas };
    return { replicas, limitedBy: recommendation < current ? 'the scale-down stabilisation window' : 'the scale-up stabilisation window' };
  }

  /**
   * The count down to which the replicas that alone keep a node may go: the highest recommendation of
   * the node-release window (the seed's for a whole down window, as in `limited`), rounded up to where
   * a node empties. `current` when there is no such window or no node to free.
   */
  private released(policy: ResolvedPolicy, current: number, recommendation: number, now: number, nodes?: NodeShare[]): number {
    if (policy.nodeReleaseMs === undefined || !nodes) return current;
    let floor = recommendation;
    for (const past of this.recommendations) if (past.atMs > now - policy.nodeReleaseMs) floor = Math.max(floor, past.replicas);
    if (this.startedAtMs > now - policy.scaleDown.windowMs) floor = Math.max(floor, this.seedReplicas);
    return floor >= current ? current : nodeReleaseCount(nodes, current, floor);
  }

  /** The floor (applied at once, schedules included) and maxReplicas have the last word. */
  private decide(policy: ResolvedPolicy, base: Omit<Decision, 'desired' | 'reason'>, proposed: number, panic: boolean, limitedBy?: string): Decision {
    this.held = proposed;
    const predicted = base.predicted?.replicas ?? 0;
    let desired = Math.max(proposed, base.floor.replicas, predicted);
    let limit = limitedBy;
    if (desired > policy.maxReplicas) {
      desired = policy.maxReplicas;
      limit = `maxReplicas (${policy.maxReplicas})`;
    }
    if (desired !== base.current) this.events.push({ atMs: base.atMs, change: desired - base.current });
    return {
      ...base, desired, reason: reasonOf(base.current, proposed, desired, base.floor, panic, predicted),
      ...(this.panicUntilMs !== undefined ? { panicUntilMs: this.panicUntilMs } : {}),
      ...(limit ? { limitedBy: limit } : {}),
    };
  }

  /** Drops what no window looks at any more. */
  private forget(policy: ResolvedPolicy, now: number): void {
    const longestPeriod = Math.max(0, ...[...policy.scaleUp.policies, ...policy.scaleDown.policies].map((p) => p.periodMs));
    const keepRecommendations = Math.max(policy.scaleUp.windowMs, policy.scaleDown.windowMs);
    this.readings = this.readings.filter((r) => r.atMs > now - Math.max(policy.metricWindowMs, 1000));
    this.recommendations = this.recommendations.filter((r) => r.atMs > now - keepRecommendations);
    this.events = this.events.filter((e) => e.atMs > now - longestPeriod);
  }

}

/** Replicas the load needs at the target, unrounded: the largest over the metrics (0 without data). */
function unroundedNeed(metrics: MetricRecommendation[]): number {
  return Math.max(0, ...metrics.map((m) => m.replicas * m.ratio));
}

/** The replicas the metrics' load needs at their targets, tolerance aside (0 without data). */
function loadNeed(metrics: MetricRecommendation[]): number {
  return Math.ceil(unroundedNeed(metrics) - 1e-9);
}

function reasonOf(current: number, proposed: number, desired: number, floor: Floor, panic: boolean, predicted: number): DecisionReason {
  if (desired === current) return 'Hold';
  // The floor or the forecast raised the count above what the load asked for, or maxReplicas cut it.
  if (desired > current && desired > proposed) {
    if (predicted === desired && predicted > floor.replicas) return 'Predictive';
    return floor.schedule ? 'Schedule' : 'Bounds';
  }
  if (desired < current && desired < proposed) return 'Bounds';
  if (panic) return 'Panic';
  return desired > current ? 'ScaleUp' : 'ScaleDown';
}
