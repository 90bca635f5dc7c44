import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CpuCounter, MetricsServer } from './metrics.server';

const RESOLUTION = 15_000;

/** One scrape attempt at `nowMs` with replica `a`'s counter (or none). */
function scrape(server: MetricsServer, nowMs: number, counter?: CpuCounter): boolean {
  return server.observe(nowMs, [{ name: 'a', ...(counter ? { cpuCounter: counter } : {}) }]);
}

describe('MetricsServer', () => {
  it('scrapes on multiples of the resolution since the epoch, the first call at once', () => {
    const server = new MetricsServer(RESOLUTION);
    // [now, scraped?]: 7 s is the first call; 14.999 s is still in the same 15 s slot; 15 s starts the next.
    const table: [number, boolean][] = [[7000, true], [8000, false], [14_999, false], [15_000, true], [29_000, false], [30_500, true]];
    for (const [now, scraped] of table) assert.equal(scrape(server, now, { atMs: now, cpuSeconds: 0, startedAtMs: -100_000 }), scraped, `at ${now}`);
  });

  // [case, scrapes (each: now and the counter the agent last sampled), expected sample of the last scrape]
  const table: [string, [number, CpuCounter | undefined][], ReturnType<MetricsServer['sample']>][] = [
    // Started long ago: no rate after one scrape; after two, (3.0 - 1.5) s / 15 s = 0.1 cores over 15 s.
    ['a rate needs two scrapes', [[15_000, { atMs: 14_600, cpuSeconds: 1.5, startedAtMs: -60_000 }]], undefined],
    ['the rate between the last two scrapes', [
      [15_000, { atMs: 14_600, cpuSeconds: 1.5, startedAtMs: -60_000 }],
      [30_000, { atMs: 29_600, cpuSeconds: 3.0, startedAtMs: -60_000 }],
    ], { atMs: 29_600, windowMs: 15_000, cores: 0.1 }],
    // Started 13 s before its first scrape (10-15 s): counted from the start at zero, 1.3 s / 13 s = 0.1.
    ['a fresh container is counted from its start', [[15_000, { atMs: 15_000, cpuSeconds: 1.3, startedAtMs: 2000 }]], { atMs: 15_000, windowMs: 13_000, cores: 0.1 }],
    // Started 7 s before: too short for a rate from the start, so it waits for its second scrape.
    ['a container younger than 10 s waits for its second scrape', [[15_000, { atMs: 15_000, cpuSeconds: 0.7, startedAtMs: 8000 }]], undefined],
    ['... and has a rate then', [
      [15_000, { atMs: 15_000, cpuSeconds: 0.7, startedAtMs: 8000 }],
      [30_000, { atMs: 30_000, cpuSeconds: 2.2, startedAtMs: 8000 }],
    ], { atMs: 30_000, windowMs: 15_000, cores: 0.1 }],
    // The container restarted at 22 s (after the stored point): the old counter says nothing about the new one, and 8 s
    // are too few to count from its start.
    ['a restarted container starts over', [
      [15_000, { atMs: 15_000, cpuSeconds: 9, startedAtMs: -60_000 }],
      [30_000, { atMs: 30_000, cpuSeconds: 0.4, startedAtMs: 22_000 }],
    ], undefined],
    // Restarted at 18 s: 12 s before the scrape, so counted from its start: 0.6 / 12 = 0.05.
    ['a restarted container may count from its start', [
      [15_000, { atMs: 15_000, cpuSeconds: 9, startedAtMs: -60_000 }],
      [30_000, { atMs: 30_000, cpuSeconds: 0.6, startedAtMs: 18_000 }],
    ], { atMs: 30_000, windowMs: 12_000, cores: 0.05 }],
    // The agent sent nothing new since the scrape at 30 s: the pair (15 s, 30 s) stays.
    ['no newer counter keeps the previous pair', [
      [15_000, { atMs: 15_000, cpuSeconds: 1, startedAtMs: -60_000 }],
      [30_000, { atMs: 30_000, cpuSeconds: 2.5, startedAtMs: -60_000 }],
      [45_000, { atMs: 30_000, cpuSeconds: 2.5, startedAtMs: -60_000 }],
    ], { atMs: 30_000, windowMs: 15_000, cores: 0.1 }],
    ['a counter that went down gives no rate', [
      [15_000, { atMs: 15_000, cpuSeconds: 5, startedAtMs: -60_000 }],
      [30_000, { atMs: 30_000, cpuSeconds: 4, startedAtMs: -60_000 }],
    ], undefined],
    ['a replica missing from a scrape is forgotten', [
      [15_000, { atMs: 15_000, cpuSeconds: 1, startedAtMs: -60_000 }],
      [30_000, undefined],
      [45_000, { atMs: 45_000, cpuSeconds: 4, startedAtMs: -60_000 }],
    ], undefined],
  ];
  for (const [name, scrapes, expected] of table) {
    it(name, () => {
      const server = new MetricsServer(RESOLUTION);
      for (const [now, counter] of scrapes) assert.ok(scrape(server, now, counter));
      const sample = server.sample('a');
      if (!expected || !sample) assert.deepEqual(sample, expected);
      else {
        assert.deepEqual([sample.atMs, sample.windowMs], [expected.atMs, expected.windowMs]);
        assert.ok(Math.abs(sample.cores - expected.cores) < 1e-9, `${sample.cores} cores`);
      }
    });
  }

  it('keeps the sample between scrapes, whatever the counters do meanwhile', () => {
    const server = new MetricsServer(RESOLUTION);
    scrape(server, 15_000, { atMs: 15_000, cpuSeconds: 1, startedAtMs: -60_000 });
    scrape(server, 30_000, { atMs: 30_000, cpuSeconds: 2.5, startedAtMs: -60_000 });
    // The load jumps tenfold at 31 s; the metrics API still serves the 15-30 s mean until 45 s.
    for (let now = 31_000; now < 45_000; now += 1000) assert.equal(scrape(server, now, { atMs: now, cpuSeconds: 2.5 + (now - 30_000) / 1000, startedAtMs: -60_000 }), false);
    assert.ok(Math.abs(server.sample('a')!.cores - 0.1) < 1e-9);
    scrape(server, 45_000, { atMs: 45_000, cpuSeconds: 17.5, startedAtMs: -60_000 });
    assert.ok(Math.abs(server.sample('a')!.cores - 1) < 1e-9, '(17.5 - 2.5) / 15 = 1 core');
  });
});
