/**
 * A Service's `spec.autoscale` with every default of its policy filled in, times in milliseconds.
 * The user's `behavior` overrides the policy's, field by field, as in Kubernetes HPA v2.
 */
import { AutoscalePolicyName, AutoscaleSpec, CronExpression, ScalingRules, parseCron } from '@tide/api';

/** kube-controller-manager's `--horizontal-pod-autoscaler-*` flags that shape the CPU reading. */
export interface HpaTiming {
  cpuInitializationPeriodMs: number;
  initialReadinessDelayMs: number;
}

export const HPA_TIMING: HpaTiming = { cpuInitializationPeriodMs: 300_000, initialReadinessDelayMs: 30_000 };

export interface StepPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodMs: number;
}

export interface DirectionRules {
  /** Up: the lowest recommendation of the window wins; down: the highest. */
  windowMs: number;
  selectPolicy: 'Max' | 'Min' | 'Disabled';
  policies: StepPolicy[];
}

export interface ResolvedSchedule {
  name?: string;
  cron: CronExpression;
  timeZone: string;
  minReplicas: number;
  durationMs: number;
}

/**
 * Where a policy's CPU figures come from. `agent`: the reading's `cpu`, the agents' rates of about
 * the last second (Tide's fast path). `metrics-server`: the reading's `pods`, scraped every
 * `resolutionMs` into ~15 s means and grouped as Kubernetes' HPA groups pods (hpa.replicas.ts).
 */
export type CpuMetrics = { source: 'agent' } | ({ source: 'metrics-server'; resolutionMs: number } & HpaTiming);

export interface ResolvedPolicy {
  name: AutoscalePolicyName;
  minReplicas: number;
  maxReplicas: number;
  /** cpuUtilization as a fraction of the request (0.5 = 50%); requestsPerSecond per replica. */
  targets: { cpuUtilization?: number; requestsPerSecond?: number };
  /** |observed / target - 1| within this changes nothing (Kubernetes' 10%). */
  tolerance: number;
  /** Decisions are taken at most this often (readings are kept every tick). */
  syncPeriodMs: number;
  /** Readings averaged into the observed value of a decision (the agents' CPU, requests per second). */
  metricWindowMs: number;
  cpuMetrics: CpuMetrics;
  /** Absent: no panic mode. threshold is a ratio to the target (2 = 200%). */
  panic?: { windowMs: number; threshold: number };
  scaleUp: DirectionRules;
  scaleDown: DirectionRules;
  /**
   * Absent: the down window holds every replica. Present (`tide`): replicas that alone keep a node
   * (the reading's `nodes` say which) are held only this long after the load fell below them
   * (node.release.ts).
   */
  nodeReleaseMs?: number;
  schedules: ResolvedSchedule[];
  /** Absent: reactive only. Present: the count is at least what the forecast of `horizonMs` ahead needs (forecast.ts). */
  predictive?: { horizonMs: number };
}

/** `spec.autoscale.predictive.horizonSeconds`' default: the next minute's rise. */
export const DEFAULT_PREDICTIVE_HORIZON_MS = 60_000;

/** Kubernetes HPA's default behavior (pkg/apis/autoscaling/v2/defaults.go). */
const HPA_SCALE_UP: DirectionRules = {
  windowMs: 0, selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }, { type: 'Pods', value: 4, periodMs: 15_000 }],
};
/**
 * Tide's scale-up: the HPA's step limits, and a 5 s up window (the lowest recommendation of the last
 * 5 s wins; the HPA's is 0 with a 15 s sync). Tide decides every second on a 3 s mean, so without it
 * a clump of arrivals (a balancer whose event loop was busy counts them late, together) read as load
 * for a second or two adds replicas that the 300 s down window then holds: an autoscale benchmark
 * HTTP run went 8 → 10 on 80/s that needs 8. A real rise lasts; a 10× step goes through panic mode, which skips the
 * windows, so the first replicas are as fast as before; a moderate rise waits about 4 s more. 5 s, not 3:
 * a burst of up to 2 s moves the 3 s mean of four decisions, and the window must see one without it.
 */
const TIDE_SCALE_UP: DirectionRules = { ...HPA_SCALE_UP, windowMs: 5000 };
const HPA_SCALE_DOWN: DirectionRules = { windowMs: 300_000, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodMs: 15_000 }] };

/**
 * How long `tide` holds replicas that alone keep a node once the load no longer asks for them: two
 * minutes instead of the down window's five. The window is there for a return of the load; replicas
 * on nodes the load needs anyway cost nothing to keep for it, a node kept for a few of them costs a
 * node. Two minutes still covers the dips of a minute or two after which a load comes back (the
 * day benchmark's traces: with one minute, the noisiest window lost more requests on such returns);
 * the forecast (predictive mode) keeps whatever it expects anyway.
 */
export const NODE_RELEASE_MS = 120_000;

export const TOLERANCE = 0.1;
export const DEFAULT_PANIC = { windowMs: 6000, threshold: 2 };

/** metrics-server's default `--metric-resolution`. */
export const METRICS_SERVER_RESOLUTION_MS = 15_000;

/**
 * `tide` decides every second on the agents' CPU rates (a 3 s mean of ~1 s rates) and has panic
 * mode. `hpa-default` is a Kubernetes HPA with its defaults, metrics pipeline included: 15 s sync,
 * CPU from a metrics-server of 15 s resolution, the 30 s readiness delay and 5 min CPU
 * initialisation period, no panic. Both share the HPA's tolerance and scaling behavior.
 */
const POLICY_DEFAULTS: Record<AutoscalePolicyName, Pick<ResolvedPolicy, 'syncPeriodMs' | 'metricWindowMs' | 'cpuMetrics' | 'panic' | 'scaleUp' | 'scaleDown' | 'nodeReleaseMs'>> = {
  'tide': {
    syncPeriodMs: 1000, metricWindowMs: 3000, cpuMetrics: { source: 'agent' }, panic: DEFAULT_PANIC, scaleUp: TIDE_SCALE_UP, scaleDown: HPA_SCALE_DOWN,
    nodeReleaseMs: NODE_RELEASE_MS,
  },
  'hpa-default': {
    syncPeriodMs: 15_000, metricWindowMs: 3000, cpuMetrics: { source: 'metrics-server', resolutionMs: METRICS_SERVER_RESOLUTION_MS, ...HPA_TIMING },
    panic: undefined, scaleUp: HPA_SCALE_UP, scaleDown: HPA_SCALE_DOWN,
  },
};

/** `spec` must have passed validation (libs/api): a bad cron expression throws here. */
export function resolvePolicy(spec: AutoscaleSpec): ResolvedPolicy {
  const name = spec.policy ?? 'tide';
  const defaults = POLICY_DEFAULTS[name];
  const panic = defaults.panic && {
    windowMs: (spec.panic?.windowSeconds ?? defaults.panic.windowMs / 1000) * 1000,
    threshold: (spec.panic?.thresholdPercentage ?? defaults.panic.threshold * 100) / 100,
  };
  return {
    name, minReplicas: spec.minReplicas ?? 1, maxReplicas: spec.maxReplicas,
    targets: {
      ...(spec.targetCPUUtilizationPercentage !== undefined ? { cpuUtilization: spec.targetCPUUtilizationPercentage / 100 } : {}),
      ...(spec.targetRequestsPerSecond !== undefined ? { requestsPerSecond: spec.targetRequestsPerSecond } : {}),
    },
    tolerance: TOLERANCE, syncPeriodMs: defaults.syncPeriodMs, metricWindowMs: defaults.metricWindowMs, cpuMetrics: defaults.cpuMetrics, panic,
    scaleUp: rules(spec.behavior?.scaleUp, defaults.scaleUp),
    scaleDown: rules(spec.behavior?.scaleDown, defaults.scaleDown),
    ...nodeRelease(spec.behavior?.scaleDown, defaults),
    ...(spec.predictive ? { predictive: { horizonMs: (spec.predictive.horizonSeconds ?? DEFAULT_PREDICTIVE_HORIZON_MS / 1000) * 1000 } } : {}),
    schedules: (spec.schedules ?? []).map((s) => ({
      ...(s.name ? { name: s.name } : {}), cron: parseCron(s.cron), timeZone: s.timeZone ?? 'UTC',
      minReplicas: s.minReplicas, durationMs: s.durationSeconds * 1000,
    })),
  };
}

function rules(given: ScalingRules | undefined, defaults: DirectionRules): DirectionRules {
  return {
    windowMs: given?.stabilizationWindowSeconds !== undefined ? given.stabilizationWindowSeconds * 1000 : defaults.windowMs,
    selectPolicy: given?.selectPolicy ?? defaults.selectPolicy,
    policies: given?.policies?.map((p) => ({ type: p.type, value: p.value, periodMs: p.periodSeconds * 1000 })) ?? defaults.policies,
  };
}

/** Never longer than the down window the user set: a shorter window already lets the nodes go. */
function nodeRelease(given: ScalingRules | undefined, defaults: Pick<ResolvedPolicy, 'nodeReleaseMs' | 'scaleDown'>): Pick<ResolvedPolicy, 'nodeReleaseMs'> {
  if (defaults.nodeReleaseMs === undefined) return {};
  const downMs = rules(given, defaults.scaleDown).windowMs;
  return { nodeReleaseMs: Math.min(defaults.nodeReleaseMs, downMs) };
}
