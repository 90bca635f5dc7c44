/**
 * The autoscale benchmark's trials: where each trial puts the step against its policy's decision
 * ticks, and the medians reported over the trials.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { SpikeResult } from './spike.scenario';

export type PolicyName = 'tide' | 'hpa-default';

export interface TrialResult extends SpikeResult {
  trial: number;
  /** 1: this policy ran first in its trial; 2: second. */
  order: number;
  /** The phase asked for: the step this long after a decision tick of the policy. */
  step_phase_target_s: number;
  /** The phase seen: the step after the policy's last decision before it, from status.autoscale (tide: modulo its 1 s period). */
  step_after_decision_s: number | null;
  /** hpa-default: the step after the last metrics-server scrape tick (multiples of 15 s since the epoch). */
  step_after_scrape_s?: number;
  /** How busy the whole machine was during the trace (everything on it, this run included). */
  machine: MachineLoad;
}

export interface MachineLoad {
  /** The 1-minute load average when the trace started. */
  load1_at_start: number;
  /** Share of all cores' time not idle over the trace, in percent. */
  cpu_busy_pct: number;
}

/** Cumulative busy and total CPU time of the machine (/proc/stat), for a busy share between two reads. */
function cpuTimes(): { busy: number; total: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - fields[3] - (fields[4] ?? 0), total };
}

/** Starts measuring the machine's load; `stop()` gives it for the time in between. */
export function machineLoad(): { stop(): MachineLoad } {
  const load1 = os.loadavg()[0];
  const start = cpuTimes();
  return {
    stop: () => {
      const end = cpuTimes();
      const busy = end.total > start.total ? (end.busy - start.busy) / (end.total - start.total) : 0;
      return { load1_at_start: Math.round(load1 * 100) / 100, cpu_busy_pct: Math.round(busy * 1000) / 10 };
    },
  };
}

/** The figures reported per policy: medians over the trials, then every trial. */
export interface PolicySummary {
  first_ready_s: number | null;
  recovered_s: number | null;
  failed_requests: number;
  /** Failed because the load generator gave up waiting (the balancer's 503s are failed, not timed out). */
  timed_out_requests: number;
  replica_seconds: number;
  first_served_s: number | null;
  slow_requests: number;
  trials: TrialResult[];
}

/**
 * N phases in [0, 1), one drawn at random in each Nth of the period and shuffled: random, yet a
 * median over few trials does not hinge on all of them landing at the same end of the period.
 */
export function stratifiedPhases(n: number, random: () => number = Math.random): number[] {
  const phases = Array.from({ length: n }, (_, i) => (i + random()) / n);
  for (let i = phases.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [phases[i], phases[j]] = [phases[j], phases[i]];
  }
  return phases;
}

/** The median; null (never happened) counts as worse than any figure, so a median of mostly nulls is null. */
export function medianOrNull(values: (number | null)[]): number | null {
  const sorted = [...values].sort((a, b) => (a === null ? 1 : b === null ? -1 : a - b));
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2) return sorted[middle];
  const [low, high] = [sorted[middle - 1], sorted[middle]];
  return low === null || high === null ? null : Math.round(((low + high) / 2) * 100) / 100;
}

export function summarise(trials: TrialResult[]): PolicySummary {
  const of = (pick: (t: TrialResult) => number | null) => medianOrNull(trials.map(pick));
  return {
    first_ready_s: of((t) => t.first_ready_s),
    recovered_s: of((t) => t.recovered_s),
    failed_requests: of((t) => t.failed_requests) ?? 0,
    timed_out_requests: of((t) => t.timed_out_requests) ?? 0,
    replica_seconds: of((t) => t.replica_seconds) ?? 0,
    first_served_s: of((t) => t.first_served_s),
    slow_requests: of((t) => t.slow_requests) ?? 0,
    trials,
  };
}

/** The step's phase against the decisions seen in status before it (null when none was seen). */
export function observedPhase(decisionsMs: number[], stepAtMs: number, syncMs: number): number | null {
  const before = decisionsMs.filter((d) => d <= stepAtMs);
  if (before.length === 0) return null;
  const since = stepAtMs - Math.max(...before);
  // Tide's status shows a decision only every 5 s; its decisions tick about every second in between.
  return Math.round((syncMs < 5000 ? since % syncMs : since) / 10) / 100;
}
