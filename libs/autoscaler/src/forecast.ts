/**
 * Predictive mode's memory and forecast (`spec.autoscale.predictive`), pure: the clock is passed in.
 *
 * The load is kept as the replicas it needs at the target (load / target per replica, unrounded),
 * one mean per minute, for a week and a day. A forecast for `horizonMs` ahead is the load now times
 * the largest growth either of two readings of the service's own history sees:
 *  - its shape (seasonal): the same time yesterday and a week ago, from the mean of the minutes
 *    just before that time to the busiest few minutes of the horizon after it. The shape predicts a rise
 *    that comes every day (the morning, a match at its usual hour), in proportion to the level now,
 *    so a quieter or busier day scales it;
 *  - its trend: the rise per minute over the last TREND_MINUTES, carried on over the horizon. This
 *    covers a rise the shape did not see coming (a flash crowd ramps over tens of minutes) once it
 *    is under way, ahead of the node boot it will need;
 *  - how jumpy it is (volatility): the largest rise of the last hour above the highest minute of the
 *    PEAK_MINUTES before it, from the highest minute of the last PEAK_MINUTES. A jumpy load dips and
 *    comes back: measured from the minute before, a dip and its return read as a large rise, applied
 *    to the load in a dip, so the headroom was largest where it mattered least and smallest (the
 *    dip's) just before the return. Measured from and applied to the recent peak, it is the rise
 *    above anything the load did lately, and a dip does not take it away.
 * A forecast never asks for less than the load now (a fall is the reactive side's to follow, after
 * its window) and never more than MAX_GROWTH times it (one odd minute of history must not fill the
 * cluster). The growth is measured on means of several minutes so that one noisy minute moves it little.
 */

export const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** The history's seasons: yesterday and a week ago. */
export const SEASONS = [{ name: 'yesterday', ms: DAY_MS }, { name: 'a week ago', ms: 7 * DAY_MS }] as const;
/** Minutes averaged for the level a growth starts from (now, and at the same time a season ago). */
const BASE_MINUTES = 3;
/** Minutes over which the trend is read (the mean of the newest BASE_MINUTES against the mean as many minutes before them). */
const TREND_MINUTES = 5;
export const MAX_GROWTH = 4;
/** Minutes over which the largest rise is read. */
const VOLATILITY_MINUTES = 60;
/**
 * Minutes whose highest is the level a rise is measured from, and the level the largest rise is
 * applied to: two, so that a dip of a minute does not take the headroom away. The day benchmark
 * over every window of its trace (docs/BENCHMARKS.md): against the rise from the minute before,
 * applied to the load now, 174 SLO-violation minutes instead of 260 at the same node-hours; five
 * minutes hold the headroom longer on a falling load (cheaper on the jumpy windows, dearer on the
 * smooth ones, 186 minutes).
 */
const PEAK_MINUTES = 2;

export interface Forecast {
  /** Replicas the load is expected to need within the horizon (unrounded). */
  need: number;
  /** need / the load now. */
  growth: number;
  /** What predicted the growth ('yesterday', 'a week ago', 'trend'), or undefined when nothing predicts a rise. */
  basis?: string;
}

export class LoadHistory {
  private readonly minutes = new Map<number, { sum: number; count: number }>();
  private newest = -Infinity;

  /** Keeps one reading of the load, in replicas needed at the target. */
  observe(atMs: number, need: number): void {
    const minute = Math.floor(atMs / MINUTE_MS);
    const kept = this.minutes.get(minute);
    if (kept) [kept.sum, kept.count] = [kept.sum + need, kept.count + 1];
    else this.minutes.set(minute, { sum: need, count: 1 });
    if (minute <= this.newest) return;
    // Once a minute: what the longest season (and its horizon, up to a day) no longer reaches goes.
    this.newest = minute;
    const oldest = minute - (SEASONS[SEASONS.length - 1].ms + DAY_MS) / MINUTE_MS;
    for (const m of this.minutes.keys()) if (m < oldest) this.minutes.delete(m);
  }

  /** Minutes kept (for status and tests). */
  get size(): number {
    return this.minutes.size;
  }

  forecast(nowMs: number, needNow: number, horizonMs: number): Forecast {
    const now = Math.floor(nowMs / MINUTE_MS);
    const ahead = Math.max(1, Math.ceil(horizonMs / MINUTE_MS));
    let best: Forecast = { need: needNow, growth: 1 };
    const consider = (growth: number | undefined, basis: string) => {
      if (growth === undefined || !(growth > best.growth)) return;
      const capped = Math.min(MAX_GROWTH, growth);
      best = { need: needNow * capped, growth: capped, basis };
    };
    consider(...this.shapeGrowth(now, ahead));
    consider(this.trendGrowth(now, needNow, ahead), 'trend');
    if (needNow > 0) {
      const volatile = this.volatileNeed(now, needNow);
      consider(volatile.need / needNow, volatile.basis);
    }
    return best;
  }

  /**
   * The growth the shape predicts: the smaller of yesterday's and last week's where both are known
   * (a rise both show comes daily; one only yesterday showed, such as a match at another hour than
   * last week's, is left to the trend), else the one known.
   */
  private shapeGrowth(now: number, ahead: number): [number | undefined, string] {
    let growth: number | undefined;
    let basis = '';
    for (const season of SEASONS) {
      const g = this.seasonalGrowth(now - season.ms / MINUTE_MS, ahead);
      if (g === undefined || (growth !== undefined && g > growth)) continue;
      [growth, basis] = [g, g === growth ? `${basis} and ${season.name}` : season.name];
    }
    return [growth, basis];
  }

  /**
   * The busiest stretch of the horizon after `then` over the level just before it, a season ago;
   * both are means of BASE_MINUTES, so that the minute-to-minute noise of a flat load reads as no growth.
   */
  private seasonalGrowth(then: number, ahead: number): number | undefined {
    const base = this.mean(then - BASE_MINUTES, then);
    if (base === undefined || base <= 0) return undefined;
    let peak: number | undefined;
    for (let m = then; m < then + ahead; m++) {
      const value = this.mean(m, m + BASE_MINUTES);
      if (value !== undefined) peak = Math.max(peak ?? 0, value);
    }
    return peak === undefined ? undefined : peak / base;
  }

  /** The rise per minute of the last TREND_MINUTES carried on over the horizon, as a growth of the load now. */
  private trendGrowth(now: number, needNow: number, ahead: number): number | undefined {
    const recent = this.mean(now - BASE_MINUTES, now);
    const before = this.mean(now - TREND_MINUTES - BASE_MINUTES, now - TREND_MINUTES);
    if (recent === undefined || before === undefined || needNow <= 0) return undefined;
    const perMinute = (recent - before) / TREND_MINUTES;
    return perMinute > 0 ? (needNow + perMinute * ahead) / needNow : undefined;
  }

  /**
   * The highest of the last PEAK_MINUTES (and `needNow`) times the largest rise of the last
   * VOLATILITY_MINUTES over the highest of the PEAK_MINUTES before it: a rise as large may come any
   * minute, from where the load just was. Without a rise on record, that highest alone.
   */
  private volatileNeed(now: number, needNow: number): { need: number; basis: string } {
    const peak = this.highest(now - PEAK_MINUTES, now, needNow);
    let largest = 1;
    for (let m = now - VOLATILITY_MINUTES; m < now; m++) {
      const [before, after] = [this.highest(m - PEAK_MINUTES, m, 0), this.at(m)];
      if (after !== undefined && before > 0) largest = Math.max(largest, after / before);
    }
    return { need: peak * largest, basis: largest > 1 ? 'the last hour\'s largest rise' : 'the last minutes\' peak' };
  }

  /** The highest kept minute in [from, to), at least `atLeast`. */
  private highest(from: number, to: number, atLeast: number): number {
    let value = atLeast;
    for (let m = from; m < to; m++) value = Math.max(value, this.at(m) ?? 0);
    return value;
  }

  private at(minute: number): number | undefined {
    const kept = this.minutes.get(minute);
    return kept ? kept.sum / kept.count : undefined;
  }

  /** Mean of the kept minutes in [from, to), undefined when fewer than half of them are kept. */
  private mean(from: number, to: number): number | undefined {
    const values: number[] = [];
    for (let m = from; m < to; m++) {
      const value = this.at(m);
      if (value !== undefined) values.push(value);
    }
    if (values.length * 2 < to - from) return undefined;
    return values.reduce((a, b) => a + b, 0) / values.length;
  }
}
