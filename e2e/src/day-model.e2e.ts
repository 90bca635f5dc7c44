/**
 * The `day` benchmark's model, checked on its own (no process, no cluster, no lock needed): the
 * Cluster Autoscaler's default rules, the trace's reading and windows, and a short run whose
 * accounts must agree with what each policy did (nodes within the pool's bounds, no request counted
 * as served above the ready capacity).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { node, replica } from '@tide/scheduler/testing';
import { CA_DEFAULTS, ClusterAutoscalerModel } from './bench/day.ca';
import { demandAt, demandPerMinute, runDay, startingState } from './bench/day.run';
import { hindsightReference } from './bench/day.reference';
import { DEFAULT_MODEL, peakRps } from './bench/day.setup';
import { everyWindow, readTrace, traceWindow } from './bench/day.trace';

const GROUP = { template: { cpu: 4000, memory: 8 * 2 ** 30 }, minNodes: 1, maxNodes: 5 };
const MIN = 60_000;

/** A ready node holding `pods` replicas of 1000m / 1 GiB. */
function held(name: string, pods: number) {
  const info = node(name, 4000, 8 * 2 ** 30, { requested: { cpu: 1000 * pods, memory: pods * 2 ** 30 } });
  return { info, pods: Array.from({ length: pods }, (_, i) => replica(`${name}-p${i}`, 1000, 2 ** 30)) };
}

describe('Cluster Autoscaler model (defaults)', () => {
  it('bin-packs unschedulable pods into new nodes, upcoming nodes first, never above max', () => {
    const ca = new ClusterAutoscalerModel(GROUP);
    // 6 pods of 1000m: ceil(6000 / 4000) = 2 nodes.
    assert.equal(ca.scan(0, { nodes: [], booting: 0, unschedulable: Array.from({ length: 6 }, (_, i) => replica(`p${i}`, 1000, 2 ** 30)) }).add, 2);
    // One node booting takes 4 of them: 1 more.
    assert.equal(new ClusterAutoscalerModel(GROUP).scan(0, { nodes: [], booting: 1, unschedulable: Array.from({ length: 6 }, (_, i) => replica(`p${i}`, 1000, 2 ** 30)) }).add, 1);
    // 4 nodes exist, max 5: 1 at most.
    assert.equal(new ClusterAutoscalerModel(GROUP).scan(0, { nodes: [held('a', 4), held('b', 4), held('c', 4), held('d', 4)], booting: 0,
      unschedulable: Array.from({ length: 12 }, (_, i) => replica(`p${i}`, 1000, 2 ** 30)) }).add, 1);
    // A pod larger than the template gets no node.
    assert.equal(new ClusterAutoscalerModel(GROUP).scan(0, { nodes: [], booting: 0, unschedulable: [replica('big', 6000, 2 ** 30)] }).add, 0);
  });

  it('removes a node under 50% only after 10 unneeded minutes, and not within 10 minutes of a scale-up', () => {
    const ca = new ClusterAutoscalerModel(GROUP);
    // a: 3 of 4 (75%), b: 1 of 4 (25% < 50%), whose pod fits on a.
    const view = { nodes: [held('a', 3), held('b', 1)], booting: 0, unschedulable: [] };
    assert.equal(ca.scan(0, { ...view, unschedulable: [replica('x', 1000, 2 ** 30)] }).add, 1); // a scale-up at t = 0
    assert.deepEqual(ca.scan(1 * MIN, view).remove, []); // b unneeded from minute 1
    assert.deepEqual(ca.scan(9 * MIN, view).remove, []); // still within 10 min of the scale-up
    assert.deepEqual(ca.scan(10.5 * MIN, view).remove, []); // unneeded for 9.5 min only
    assert.deepEqual(ca.scan(11 * MIN, view).remove, [{ node: 'b', evict: ['b-p0'] }]);
  });

  it('keeps a node whose pods do not fit elsewhere, or above the threshold, or at min', () => {
    const full = new ClusterAutoscalerModel(GROUP);
    // b's pod does not fit on a (4 of 4).
    for (let t = 0; t <= 20 * MIN; t += CA_DEFAULTS.scanIntervalMs) assert.deepEqual(full.scan(t, { nodes: [held('a', 4), held('b', 1)], booting: 0, unschedulable: [] }).remove, []);
    const busy = new ClusterAutoscalerModel(GROUP);
    // b at 2 of 4 is 50%: not under the threshold; a (25%) goes once unneeded for 10 min, b never.
    const removals: { t: number; nodes: string[] }[] = [];
    for (let t = 0; t <= 20 * MIN; t += CA_DEFAULTS.scanIntervalMs) {
      const nodes = busy.scan(t, { nodes: [held('a', 1), held('b', 2)], booting: 0, unschedulable: [] }).remove.map((r) => r.node);
      if (nodes.length > 0) removals.push({ t, nodes });
    }
    assert.deepEqual(removals[0], { t: 10 * MIN, nodes: ['a'] });
    assert.ok(removals.every((r) => !r.nodes.includes('b')));
    const atMin = new ClusterAutoscalerModel({ ...GROUP, minNodes: 2 });
    for (let t = 0; t <= 20 * MIN; t += CA_DEFAULTS.scanIntervalMs) assert.deepEqual(atMin.scan(t, { nodes: [held('a', 0), held('b', 0)], booting: 0, unschedulable: [] }).remove, []);
  });

  it('deletes empty nodes in bulk but drains one busy node at a time', () => {
    const ca = new ClusterAutoscalerModel({ ...GROUP, maxNodes: 10 });
    const view = { nodes: [held('a', 3), held('b', 0), held('c', 0), held('d', 1), held('e', 1)], booting: 0, unschedulable: [] };
    ca.scan(0, view);
    // d and e (25%) fit on a; b and c are empty: both empties go, and one of d, e.
    const removed = ca.scan(10 * MIN, view).remove;
    assert.deepEqual(removed.filter((r) => r.evict.length === 0).map((r) => r.node).sort(), ['b', 'c']);
    assert.equal(removed.filter((r) => r.evict.length > 0).length, 1);
  });
});

describe('day trace', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tide-day-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads period,count and cuts whole days, the busiest minute named', () => {
    const rows = Array.from({ length: 2880 }, (_, i) => `${new Date(Date.UTC(1998, 5, 29) + i * MIN).toISOString().slice(0, 19).replace('T', ' ')},${i === 1000 ? 500 : 10}`);
    const p = file('ok.csv', ['period,count', ...rows].join('\n'));
    const window = traceWindow(readTrace(p), p, '1998-06-30', 1);
    assert.equal(window.counts.length, 1440);
    assert.equal(window.startMs, Date.UTC(1998, 5, 30));
    const whole = traceWindow(readTrace(p), p, '1998-06-29', 1);
    assert.deepEqual(whole.busiestMinute, { at: '1998-06-29 16:40', count: 500 });
    // The busiest minute is the model's peak: 500 requests a minute → peakRps per second.
    assert.equal(Math.max(...demandPerMinute(whole, DEFAULT_MODEL)), peakRps(DEFAULT_MODEL));
  });

  it('lists every window with its 8 days of history before it, back to back', () => {
    // 12 days and 10 minutes from 1 June 12:00: the first whole day is 2 June, history to 10 June, the last minute 13 June 12:09.
    const rows = Array.from({ length: 12 * 1440 + 10 }, (_, i) => `${new Date(Date.UTC(1998, 5, 1, 12) + i * MIN).toISOString().slice(0, 19).replace('T', ' ')},1`);
    const p = file('days.csv', ['period,count', ...rows].join('\n'));
    assert.deepEqual(everyWindow(readTrace(p), p, 1), ['1998-06-10', '1998-06-11', '1998-06-12']);
    assert.deepEqual(everyWindow(readTrace(p), p, 2), ['1998-06-10']);
    assert.throws(() => everyWindow(readTrace(p), p, 4), /no window of 4 day\(s\) with 8 days before it/);
  });

  it('says what is wrong with a bad file or window', () => {
    assert.throws(() => readTrace(file('header.csv', 'time,n\n')), /header must be "period,count"/);
    assert.throws(() => readTrace(file('line.csv', 'period,count\n1998-06-29 00:00:00,x\n')), /line\.csv:2: expected/);
    const p = file('short.csv', 'period,count\n1998-06-29 00:00:00,5\n');
    assert.throws(() => traceWindow(readTrace(p), p, '1998-06-29', 1), /covers only 1 of the 1440 minutes/);
    assert.throws(() => traceWindow(readTrace(p), p, '29/06/1998', 1), /--from wants a date/);
  });
});

describe('demand within a minute', () => {
  const demand = [100, 200, 200];
  it('step: every second of a minute at its mean, a jump at the minute', () => {
    assert.deepEqual([0, 59, 60].map((s) => demandAt(demand, s, 'step')), [100, 100, 200]);
  });
  it('linear: a line through the minutes\' middles, flat past the last one', () => {
    // Second 30 is minute 0's middle; second 90 minute 1's; halfway between them (60) is 150.
    assert.ok(Math.abs(demandAt(demand, 30, 'linear') - 100 - 100 / 120) < 1e-9);
    assert.ok(Math.abs(demandAt(demand, 59, 'linear') - (100 + 100 * 29.5 / 60)) < 1e-9);
    assert.ok(Math.abs(demandAt(demand, 60, 'linear') - (100 + 100 * 30.5 / 60)) < 1e-9);
    assert.equal(demandAt(demand, 179, 'linear'), 200);
  });
});

describe('day run', () => {
  it('keeps honest accounts for both policies on a day with a 10× peak', async () => {
    // Night at 100 requests a minute, a 10× peak from 12:00 to 14:00, night again.
    const counts = Array.from({ length: 1440 }, (_, i) => (i >= 720 && i < 840 ? 1000 : 100));
    const window = { startMs: Date.UTC(1998, 5, 29), counts, before: new Map<number, number>(), busiestMinute: { at: '1998-06-29 12:00', count: 1000 } };
    const model = { ...DEFAULT_MODEL, maxNodes: 10, maxReplicas: 80 };
    const result = await runDay(window, model);
    const start = startingState(model, demandPerMinute(window, model)[0]);
    for (const name of ['tide', 'baseline'] as const) {
      const series = result.series[name];
      assert.equal(series.length, 1440);
      assert.ok(series.every((m) => m.nodes >= model.minNodes && m.nodes <= model.maxNodes), `${name}: nodes within the pool's bounds`);
      // Peak: 0.5 × 10 nodes × 8 × 100 = 4000 rps needs 58 replicas at 70 rps: more nodes than at night.
      assert.ok(result[name].peak_nodes >= 8, `${name} grew for the peak (peak ${result[name].peak_nodes})`);
      assert.ok(series[1439].nodes <= start.nodes + 1, `${name} handed the nodes back after the peak (${series[1439].nodes} at the end)`);
      const dropped = series.reduce((sum, m) => sum + m.dropped, 0);
      assert.equal(Math.round(dropped), result[name].dropped_requests);
      assert.equal(series.filter((m) => m.dropped > 0).length, result[name].slo_violation_minutes);
      // With step demand the bound at capacity is exact per minute: a policy that dropped nothing paid at least that.
      if (result[name].dropped_requests === 0) assert.ok(result[name].node_hours >= result.boundAtCapacity.node_hours, `${name} under the bound at capacity`);
    }
    assert.ok(result.boundAtCapacity.node_hours <= result.boundAtTideTarget.node_hours && result.boundAtTideTarget.node_hours <= result.bound.node_hours);
    assert.equal(result.node_hours_ratio, Math.round((result.tide.node_hours / result.baseline.node_hours) * 1000) / 1000);
    assert.ok(result.tide.events.NodeScaleUp > 0 && result.tide.events.NodeScaleDown > 0, `tide's node autoscaler acted: ${JSON.stringify(result.tide.events)}`);
  });
});

describe('hindsight reference', () => {
  const flat = (minutes: number, rps: number) => Array.from({ length: minutes }, () => rps);

  it('holds a flat load with no headroom, on as few nodes as hold it', () => {
    const ref = hindsightReference(flat(60, 1000), DEFAULT_MODEL, 'step', 0);
    assert.ok(ref);
    // 10 replicas of 100 rps on 2 nodes (the pool's minimum) for an hour.
    assert.deepEqual({ headroom: ref.headroom, node_hours: ref.node_hours, replica_hours: ref.replica_hours, slo: ref.slo_violation_minutes }, { headroom: 0, node_hours: 2, replica_hours: 10, slo: 0 });
  });

  it('pays the headroom a jump needs, or spends the minutes it is allowed on the jump', () => {
    const jump = [...flat(30, 1000), ...flat(30, 1500)];
    const strict = hindsightReference(jump, DEFAULT_MODEL, 'step', 0);
    const lenient = hindsightReference(jump, DEFAULT_MODEL, 'step', 1);
    assert.ok(strict && lenient);
    // Sized from the minutes before, the jump's minute sees 1000: it needs 15 replicas for its 1500,
    // which the first step above +40% gives (ceil(10 × 1.42) = 15).
    assert.equal(strict.headroom, 0.42);
    assert.equal(strict.slo_violation_minutes, 0);
    assert.equal(lenient.headroom, 0);
    assert.equal(lenient.slo_violation_minutes, 1);
    assert.ok(lenient.node_hours < strict.node_hours, `${lenient.node_hours} < ${strict.node_hours}`);
  });

  it('finds nothing when max replicas cannot serve the load', () => {
    assert.equal(hindsightReference(flat(10, 1500), { ...DEFAULT_MODEL, maxReplicas: 12 }, 'step', 0), undefined);
  });
});
