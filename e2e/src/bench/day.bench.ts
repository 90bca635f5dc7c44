/**
 * day benchmark: a real web trace's days (requests per minute) replayed through Tide's real
 * autoscaler, scheduler, consolidation and node autoscaler code with an injected clock, against the
 * baseline users run today (HPA defaults, kube-scheduler's default spreading, the Cluster
 * Autoscaler's defaults) on the same modelled cluster and replicas; see day.setup.ts for the model
 * and docs/BENCHMARKS.md ("day") for what differs from a real cluster. Starts nothing: pure CPU.
 *
 * npm run bench -- day [--json] [--trace FILE] [--from YYYY-MM-DD|all] [--days N] [--plot FILE.svg]
 *   --from all: every window of --days the trace holds with its history before it, back to back,
 *   each line of the table one window, and a summary of how many meet the targets.
 *   model: [--demand step|linear] [--capacity-rps N] [--target-rps N] [--replica-start-s S] [--node-boot-s S] [--peak-share F]
 *          [--min-nodes N] [--max-nodes N]
 *   tide:  [--tide-target-rps N] [--tide-predictive on|off] [--tide-scale-down-window-s S] [--tide-max-skew N]
 *          [--node-scale-down-delay-s S] [--consolidation-delay-s S] [--node-lead-s S]
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DayResult, DemandShape, demandPerMinute, runDay } from './day.run';
import { HindsightReference, hindsightReference } from './day.reference';
import { DEFAULT_MODEL, DayModel, peakRps } from './day.setup';
import { DEFAULT_TIDE, TideSettings, tideAutoscale } from './day.tide';
import { TraceWindow, defaultTracePath, everyWindow, readTrace, traceWindow } from './day.trace';
import { plotDay } from './day.plot';

const TARGETS = { node_hours_ratio: 0.7 };

/** What the baseline runs, with its sources (docs/BENCHMARKS.md, "day"). */
const BASELINE_SETTINGS = {
  hpa: 'autoscaling/v2 defaults: 15 s sync, tolerance 0.1, scale-up 100% or 4 pods per 15 s, scale-down window 300 s, 100% per 15 s',
  scheduler: 'kube-scheduler default profile (LeastAllocated, BalancedAllocation, default topology spread)',
  cluster_autoscaler: '10 s scan, scale-down under 50% after 10 min unneeded, 10 min after a scale-up, empty nodes in bulk, one drain at a time',
};

interface Options {
  json: boolean;
  trace: string;
  from: string;
  days: number;
  plot?: string;
  demand: DemandShape;
  model: DayModel;
  tide: TideSettings;
}

function parseOptions(argv: string[]): Options {
  const known = new Set(['json', 'trace', 'from', 'days', 'plot', 'demand', 'capacity-rps', 'target-rps', 'replica-start-s', 'node-boot-s', 'peak-share',
    'min-nodes', 'max-nodes', 'node-scale-down-delay-s', 'consolidation-delay-s', 'node-lead-s', 'tide-target-rps', 'tide-predictive',
    'tide-scale-down-window-s', 'tide-max-skew']);
  for (const arg of argv) if (arg.startsWith('--') && !known.has(arg.slice(2))) throw new Error(`unknown option ${arg} (known: ${[...known].map((k) => `--${k}`).join(' ')})`);
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    if (argv[i + 1] === undefined || argv[i + 1].startsWith('--')) throw new Error(`--${name} needs a value`);
    return argv[i + 1];
  };
  const number = (name: string, fallback: number, integer = false): number => {
    const given = value(name);
    if (given === undefined) return fallback;
    const n = Number(given);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new Error(`--${name} wants a ${integer ? 'whole ' : ''}number ≥ 0, got "${given}"`);
    return n;
  };
  const model: DayModel = {
    ...DEFAULT_MODEL,
    capacityRps: number('capacity-rps', DEFAULT_MODEL.capacityRps), targetRps: number('target-rps', DEFAULT_MODEL.targetRps),
    replicaStartS: number('replica-start-s', DEFAULT_MODEL.replicaStartS), nodeBootS: number('node-boot-s', DEFAULT_MODEL.nodeBootS),
    peakShare: number('peak-share', DEFAULT_MODEL.peakShare),
    minNodes: number('min-nodes', DEFAULT_MODEL.minNodes, true), maxNodes: number('max-nodes', DEFAULT_MODEL.maxNodes, true),
  };
  if (model.peakShare <= 0 || model.peakShare > 1) throw new Error(`--peak-share wants a share of the pool's capacity in (0, 1], got ${model.peakShare}`);
  if (model.maxNodes < Math.max(1, model.minNodes)) throw new Error(`--max-nodes (${model.maxNodes}) must be at least 1 and --min-nodes (${model.minNodes})`);
  if (model.targetRps <= 0 || model.capacityRps <= 0) throw new Error('--target-rps and --capacity-rps must be above 0');
  const predictive = value('tide-predictive') ?? (DEFAULT_TIDE.predictive ? 'on' : 'off');
  if (predictive !== 'on' && predictive !== 'off') throw new Error(`--tide-predictive wants on or off, got "${predictive}"`);
  const tide: TideSettings = {
    nodeScaleDownDelayS: number('node-scale-down-delay-s', DEFAULT_TIDE.nodeScaleDownDelayS),
    consolidationDelayS: number('consolidation-delay-s', DEFAULT_TIDE.consolidationDelayS),
    targetRps: number('tide-target-rps', DEFAULT_TIDE.targetRps), predictive: predictive === 'on',
    scaleDownWindowS: number('tide-scale-down-window-s', DEFAULT_TIDE.scaleDownWindowS, true),
    maxSkew: number('tide-max-skew', DEFAULT_TIDE.maxSkew, true),
    ...(value('node-lead-s') !== undefined ? { nodeLeadS: number('node-lead-s', 0) } : {}),
  };
  if (tide.targetRps <= 0 || tide.maxSkew < 1) throw new Error('--tide-target-rps must be above 0 and --tide-max-skew at least 1');
  const demand = value('demand') ?? 'step';
  if (demand !== 'step' && demand !== 'linear') throw new Error(`--demand wants step or linear, got "${demand}"`);
  return {
    json: argv.includes('--json'), trace: value('trace') ?? defaultTracePath(), from: value('from') ?? '1998-06-29',
    days: number('days', 2, true), plot: value('plot'), demand, model, tide,
  };
}

/** On the node-hours themselves, not the ratio rounded to 3 places (0.7002 would print 0.7). */
function ratioMet(result: DayResult): boolean {
  return result.tide.node_hours <= TARGETS.node_hours_ratio * result.baseline.node_hours;
}

function met(result: DayResult): boolean {
  return ratioMet(result) && result.tide.slo_violation_minutes <= result.baseline.slo_violation_minutes;
}

/** The hindsight reference on the window (day.reference.ts), allowed the baseline's SLO-violation minutes, and its ratio to the baseline. */
function reference(window: TraceWindow, options: Options, result: DayResult): (HindsightReference & { ratio_to_baseline: number; met: boolean }) | undefined {
  const found = hindsightReference(demandPerMinute(window, options.model), options.model, options.demand, result.baseline.slo_violation_minutes);
  if (!found) return undefined;
  const baseline = result.baseline.node_hours;
  return { ...found, ratio_to_baseline: Math.round((found.node_hours / baseline) * 1000) / 1000, met: found.node_hours <= TARGETS.node_hours_ratio * baseline };
}

/** One window of `--from all`. */
interface WindowRow {
  from: string;
  node_hours_ratio: number;
  tide_slo_violation_minutes: number;
  baseline_slo_violation_minutes: number;
  tide_dropped: number;
  baseline_dropped: number;
  bound_at_tide_target: number;
  capacity_bound: number;
  /** The hindsight reference's ratio (null: none keeps to the baseline's SLO minutes), and whether it meets both targets. */
  reference: number | null;
  reference_met: boolean;
  ratio_met: boolean;
  met: boolean;
}

/** `--from all`: one row a window, and how many windows meet the targets and could (their bound at capacity is under the ratio). */
async function allWindows(options: Options): Promise<void> {
  if (options.plot) throw new Error('--plot draws one window: give --from a date');
  const minutes = readTrace(options.trace);
  const rows: WindowRow[] = [];
  const began = performance.now();
  if (!options.json) console.log('from\tratio\tSLO min tide\tbaseline\tdropped tide\tbaseline\tbound at Tide\'s target\tat capacity\thindsight reference\treference met\tratio met\tmet');
  for (const from of everyWindow(minutes, options.trace, options.days)) {
    const window = traceWindow(minutes, options.trace, from, options.days);
    const result = await runDay(window, options.model, options.tide, 1, options.demand);
    const ref = reference(window, options, result);
    const row: WindowRow = {
      from, node_hours_ratio: result.node_hours_ratio, tide_slo_violation_minutes: result.tide.slo_violation_minutes,
      baseline_slo_violation_minutes: result.baseline.slo_violation_minutes, tide_dropped: result.tide.dropped_requests, baseline_dropped: result.baseline.dropped_requests,
      bound_at_tide_target: result.boundAtTideTarget.ratio_to_baseline, capacity_bound: result.boundAtCapacity.ratio_to_baseline,
      reference: ref?.ratio_to_baseline ?? null, reference_met: ref?.met ?? false, ratio_met: ratioMet(result), met: met(result),
    };
    rows.push(row);
    if (!options.json) console.log(Object.values(row).join('\t'));
  }
  const ratios = rows.map((r) => r.node_hours_ratio).sort((a, b) => a - b);
  const sum = (key: 'tide_slo_violation_minutes' | 'baseline_slo_violation_minutes' | 'tide_dropped' | 'baseline_dropped') => rows.reduce((total, r) => total + r[key], 0);
  console.log(JSON.stringify({
    benchmark: 'day', trace: path.basename(options.trace), from: 'all', days: options.days, demand: options.demand, tide_target_rps: options.tide.targetRps,
    windows: rows.length, met: rows.filter((r) => r.met).length,
    ratio_at_or_under_target: rows.filter((r) => r.ratio_met).length,
    slo_at_or_under_baseline: rows.filter((r) => r.tide_slo_violation_minutes <= r.baseline_slo_violation_minutes).length,
    capacity_bound_over_target: rows.filter((r) => r.capacity_bound > TARGETS.node_hours_ratio).length,
    reference_met: rows.filter((r) => r.reference_met).length,
    met_where_reference_met: rows.filter((r) => r.reference_met && r.met).length,
    ratio_min: ratios[0], ratio_median: ratios[Math.floor(ratios.length / 2)], ratio_max: ratios[ratios.length - 1],
    tide_slo_violation_minutes: sum('tide_slo_violation_minutes'), baseline_slo_violation_minutes: sum('baseline_slo_violation_minutes'),
    tide_dropped: sum('tide_dropped'), baseline_dropped: sum('baseline_dropped'),
    targets: { node_hours_ratio: TARGETS.node_hours_ratio, slo_violation_minutes: 'tide <= baseline' }, per_window: rows,
    wall_s: Math.round((performance.now() - began) / 100) / 10,
  }));
}

type Reference = ReturnType<typeof reference>;

function summary(options: Options, window: TraceWindow, result: DayResult, ref: Reference, wallS: number): Record<string, unknown> {
  const { tide, baseline } = result;
  const busiest = `${window.busiestMinute.at} (${window.busiestMinute.count} requests)`;
  return {
    benchmark: 'day', trace: path.basename(options.trace), from: options.from, days: options.days, busiest_minute: busiest,
    model: {
      demand: options.demand, peak_rps: peakRps(options.model), capacity_rps: options.model.capacityRps, target_rps: options.model.targetRps,
      replica_start_s: options.model.replicaStartS, node_boot_s: options.model.nodeBootS,
      node: `${options.model.node.cpu / 1000} CPU / ${options.model.node.memory / 2 ** 30} GiB`,
      replica: `${options.model.replica.cpu / 1000} CPU / ${options.model.replica.memory / 2 ** 30} GiB`,
      nodes: `${options.model.minNodes}-${options.model.maxNodes}`,
      tide_node_scale_down_delay_s: options.tide.nodeScaleDownDelayS, tide_consolidation_delay_s: options.tide.consolidationDelayS,
      tide_node_lead_s: options.tide.nodeLeadS ?? options.model.nodeBootS + 30, tide_autoscale: tideAutoscale(options.tide), tide_max_skew: options.tide.maxSkew,
      baseline: BASELINE_SETTINGS,
    },
    tide, baseline, node_hours_ratio: result.node_hours_ratio, target_bound: result.bound, target_bound_at_tide_target: result.boundAtTideTarget,
    capacity_bound: result.boundAtCapacity, hindsight_reference: ref ?? null,
    targets: { node_hours_ratio: TARGETS.node_hours_ratio, slo_violation_minutes: 'tide <= baseline' },
    met: met(result),
    wall_s: Math.round(wallS * 10) / 10,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.from === 'all') return allWindows(options);
  const window = traceWindow(readTrace(options.trace), options.trace, options.from, options.days);
  const began = performance.now();
  const result = await runDay(window, options.model, options.tide, 1, options.demand);
  const ref = reference(window, options, result);
  const out = summary(options, window, result, ref, (performance.now() - began) / 1000);
  if (options.plot) {
    writeFileSync(options.plot, plotDay(result.series, `${path.basename(options.trace)}, ${options.days} day(s) from ${options.from}`));
  }
  if (!options.json) {
    const row = (name: string, r: DayResult['tide']) =>
      `${name.padEnd(9)} node-h ${String(r.node_hours).padStart(8)}  replica-h ${String(r.replica_hours).padStart(8)}  SLO-violation min ${String(r.slo_violation_minutes).padStart(4)}  dropped ${String(r.dropped_requests).padStart(9)}  peak nodes ${r.peak_nodes}`;
    console.log(row('tide', result.tide));
    console.log(row('baseline', result.baseline));
    console.log(`node_hours_ratio ${result.node_hours_ratio} (target ≤ ${TARGETS.node_hours_ratio}); any policy holding the baseline's target needs at least `
      + `${result.bound.node_hours} node-h (${result.bound.ratio_to_baseline} of the baseline's), Tide's ${result.boundAtTideTarget.node_hours} `
      + `(${result.boundAtTideTarget.ratio_to_baseline}), with no spare at all ${result.boundAtCapacity.node_hours} (${result.boundAtCapacity.ratio_to_baseline})${options.plot ? `; plot: ${options.plot}` : ''}`);
    console.log(ref
      ? `hindsight reference (instant sizing from the ${ref.level} of the ${ref.minutes} minute(s) before + ${Math.round(ref.headroom * 100)}%, chosen after the fact): ${ref.node_hours} node-h (${ref.ratio_to_baseline}), ${ref.slo_violation_minutes} SLO-violation min`
      : 'hindsight reference: no sizing from the minutes before keeps to the baseline\'s SLO-violation minutes');
  }
  console.log(JSON.stringify(out));
}

main().catch((error: Error) => {
  console.error(`day: ${error.message}`);
  process.exit(1);
});
