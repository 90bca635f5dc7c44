import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { AutoscaleSpec } from '@tide/api';
import { ServiceAutoscaler } from './autoscaler';
import { LoadHistory, MAX_GROWTH, MINUTE_MS } from './forecast';
import { resolvePolicy } from './policy';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');

/** One reading a minute (the minute's mean) of `need(ms)` from `fromMs` to `toMs` (exclusive). */
function feed(history: LoadHistory, fromMs: number, toMs: number, need: (ms: number) => number): void {
  for (let ms = fromMs; ms < toMs; ms += MINUTE_MS) history.observe(ms, need(ms));
}

/** A daily shape: 10 replicas' worth at night, 40 from 09:00 (a step at the same time every day). */
const daily = (ms: number) => (((ms - T0) % DAY) / 3_600_000 >= 9 ? 40 : 10);

describe('LoadHistory forecasts', () => {
  it('without history, asks for the load now and names no basis', () => {
    const f = new LoadHistory().forecast(T0, 12, 60_000);
    assert.deepEqual(f, { need: 12, growth: 1 });
  });

  it("sees yesterday's 09:00 rise coming within the horizon, in proportion to today's level", () => {
    const history = new LoadHistory();
    feed(history, T0, T0 + DAY + 8.5 * 3_600_000, daily);
    // 09:00 today, load 10: yesterday's 08:57-08:59 mean was 10 and 09:00-09:02 (starting within 3 min) 40: growth 4.
    const f = history.forecast(T0 + DAY + 9 * 3_600_000, 10, 3 * MINUTE_MS);
    assert.equal(f.basis, 'yesterday');
    assert.equal(f.growth, 4);
    assert.equal(f.need, 40);
    // A quieter day (5 now) gets the same shape at its own level: 5 × 4 = 20.
    assert.equal(history.forecast(T0 + DAY + 9 * 3_600_000, 5, 3 * MINUTE_MS).need, 20);
  });

  it('does not see the rise when the horizon ends before it', () => {
    const history = new LoadHistory();
    feed(history, T0, T0 + DAY + 8.5 * 3_600_000, daily);
    // 08:50 with a 1-minute horizon: yesterday's 08:50-08:52 was still night.
    assert.equal(history.forecast(T0 + DAY + 8 * 3_600_000 + 50 * MINUTE_MS, 10, MINUTE_MS).basis, undefined);
  });

  it("takes the smaller of yesterday's and last week's rise: a rise only yesterday had is not the shape", () => {
    const history = new LoadHistory();
    // Every day steps up at 09:00 (×4); yesterday alone also had a crowd at 15:00 (×3 of its level).
    const crowd = (ms: number) => daily(ms) * (ms >= T0 + 7 * DAY + 15 * 3_600_000 && ms < T0 + 7 * DAY + 16 * 3_600_000 ? 3 : 1);
    feed(history, T0, T0 + 8 * DAY + 14 * 3_600_000, crowd);
    const nine = history.forecast(T0 + 8 * DAY + 9 * 3_600_000, 10, 3 * MINUTE_MS);
    assert.equal(nine.growth, 4);
    assert.equal(nine.basis, 'yesterday and a week ago');
    assert.equal(history.forecast(T0 + 8 * DAY + 15 * 3_600_000, 40, 3 * MINUTE_MS).basis, undefined, 'last week had no 15:00 crowd');
  });

  it('never forecasts a fall: after yesterday\'s drop the forecast is the load now', () => {
    const history = new LoadHistory();
    const evening = (ms: number) => (((ms - T0) % DAY) / 3_600_000 >= 20 ? 10 : 40);
    feed(history, T0, T0 + DAY + 19.9 * 3_600_000, evening);
    const f = history.forecast(T0 + DAY + 19 * 3_600_000 + 58 * MINUTE_MS, 40, 5 * MINUTE_MS);
    assert.deepEqual(f, { need: 40, growth: 1 });
  });

  it('carries a rise under way (the trend) over the horizon', () => {
    const history = new LoadHistory();
    // +2 replicas a minute for 10 minutes, no history a day back.
    feed(history, T0, T0 + 10 * MINUTE_MS, (ms) => 10 + 2 * ((ms - T0) / MINUTE_MS));
    // At minute 10, load 30: the last 3 minutes' mean (26) against the 3 minutes 5 before (16): +2/min;
    // 5 minutes ahead: 40 (growth 1.33, above the last hour's largest rise, 12 / 10).
    const f = history.forecast(T0 + 10 * MINUTE_MS, 30, 5 * MINUTE_MS);
    assert.equal(f.basis, 'trend');
    assert.equal(f.need, 40);
  });

  it('on a load that jumps between two levels, holds the higher one', () => {
    const history = new LoadHistory();
    // 10 and 13 in turn for two hours: no trend, no history a day back. In a minute at 10 the load
    // was 13 a minute ago and rose no higher than that in the last hour: 13, not 10 × 1.3.
    feed(history, T0, T0 + 120 * MINUTE_MS, (ms) => ((ms - T0) / MINUTE_MS) % 2 ? 13 : 10);
    const f = history.forecast(T0 + 120 * MINUTE_MS, 10, MINUTE_MS);
    assert.equal(f.basis, "the last minutes' peak");
    assert.equal(Math.round(f.need * 100) / 100, 13);
  });

  it("applies the last hour's largest rise above the recent peak to that peak, not to a dip", () => {
    const history = new LoadHistory();
    // 20 for an hour with one minute at 26 (30% above the minutes before it), then a minute at 12.
    feed(history, T0, T0 + 61 * MINUTE_MS, (ms) => {
      const minute = (ms - T0) / MINUTE_MS;
      return minute === 30 ? 26 : minute === 60 ? 12 : 20;
    });
    // In the dip the load may come back to 20 and rise 30% above it: 26. Read from the minute before
    // and applied to the load now, the same rise asked for 12 × 1.3 = 15.6, under the level of a minute ago.
    const f = history.forecast(T0 + 61 * MINUTE_MS, 12, MINUTE_MS);
    assert.equal(Math.round(f.need * 100) / 100, 26);
    assert.equal(f.basis, "the last hour's largest rise");
  });

  it(`caps the growth at ${MAX_GROWTH}×`, () => {
    const history = new LoadHistory();
    feed(history, T0, T0 + DAY + 8.5 * 3_600_000, (ms) => (((ms - T0) % DAY) / 3_600_000 >= 9 ? 100 : 1));
    assert.equal(history.forecast(T0 + DAY + 9 * 3_600_000, 1, 3 * MINUTE_MS).growth, MAX_GROWTH);
  });

  it('forgets what no season reaches (8 days and more ago)', () => {
    const history = new LoadHistory();
    feed(history, T0, T0 + 10 * DAY, () => 1);
    assert.ok(history.size <= 8 * 1440 + 1, `${history.size} minutes kept`);
  });
});

describe('ServiceAutoscaler in predictive mode (injected clock)', () => {
  const SPEC: AutoscaleSpec = { minReplicas: 2, maxReplicas: 100, targetRequestsPerSecond: 10, predictive: { horizonSeconds: 180 } };

  /** One reading a second over [fromMs, toMs), the controller applying each decision; returns the decisions. */
  function run(scaler: ServiceAutoscaler, spec: AutoscaleSpec, state: { replicas: number }, fromMs: number, toMs: number, rps: (ms: number) => number) {
    const policy = resolvePolicy(spec);
    const decisions = [];
    for (let ms = fromMs; ms < toMs; ms += 1000) {
      const d = scaler.observe(policy, { atMs: ms, requests: { replicas: state.replicas, perSecond: rps(ms) } }, state.replicas);
      if (!d) continue;
      decisions.push(d);
      state.replicas = d.desired;
    }
    return decisions;
  }

  // 100/s at night, 400/s from 09:00: 10 replicas, then 40.
  const rps = (ms: number) => daily(ms) * 10;

  it("scales out ahead of yesterday's rise, and only the reactive side follows the load down", () => {
    const scaler = new ServiceAutoscaler(T0, 10);
    const state = { replicas: 10 };
    const nineToday = T0 + DAY + 9 * 3_600_000;
    run(scaler, SPEC, state, T0, nineToday - 5 * MINUTE_MS, rps);
    assert.equal(state.replicas, 10, 'at night, the night shape: no forecast rise');
    const ahead = run(scaler, SPEC, state, nineToday - 5 * MINUTE_MS, nineToday, rps);
    const first = ahead.find((d) => d.reason === 'Predictive');
    assert.ok(first, 'a Predictive decision before 09:00');
    // The busiest 3-minute stretch starting within the 3-minute horizon: 08:58-09:00 is first seen at
    // 08:56 ((10 + 10 + 40) / 3 = 20), then the stretches climb: 30 at 08:57, 40 at 08:58.
    assert.equal(new Date(first.atMs).toISOString(), new Date(nineToday - 4 * MINUTE_MS).toISOString());
    assert.equal(first.desired, 20);
    assert.equal(first.predicted?.basis, 'yesterday');
    assert.deepEqual([...new Set(ahead.filter((d) => d.reason === 'Predictive').map((d) => d.desired))], [20, 30, 40], 'a ramp ahead of the step');
    assert.equal(state.replicas, 40, 'ready for 09:00');
  });

  it('without predictive, the same day waits for the load', () => {
    const scaler = new ServiceAutoscaler(T0, 10);
    const state = { replicas: 10 };
    const nineToday = T0 + DAY + 9 * 3_600_000;
    const { predictive: _, ...reactive } = SPEC;
    const decisions = run(scaler, reactive, state, T0, nineToday, rps);
    assert.equal(state.replicas, 10);
    assert.ok(decisions.every((d) => d.predicted === undefined));
  });

  it('forecastReplicas looks further ahead for the node autoscaler', () => {
    const scaler = new ServiceAutoscaler(T0, 10);
    const state = { replicas: 10 };
    const nineToday = T0 + DAY + 9 * 3_600_000;
    const policy = resolvePolicy(SPEC);
    run(scaler, SPEC, state, T0, nineToday - 10 * MINUTE_MS, rps);
    assert.equal(scaler.forecastReplicas(policy, nineToday - 10 * MINUTE_MS, 5 * MINUTE_MS), 10, '5 minutes ahead: still night');
    assert.equal(scaler.forecastReplicas(policy, nineToday - 10 * MINUTE_MS, 11 * MINUTE_MS), 40, '11 minutes ahead: the rise');
    assert.equal(scaler.forecastReplicas(resolvePolicy({ ...SPEC, predictive: undefined }), nineToday, MINUTE_MS), undefined);
  });
});
