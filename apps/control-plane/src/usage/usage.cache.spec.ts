import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NodeUsageReport } from '@tide/api';
import { UsageCache } from './usage.cache';

const STARTED = '2024-05-01T10:00:00.000Z';

function report(node: string, atMs: number, replicas: [string, number, number?, string?][]): NodeUsageReport {
  return {
    nodeName: node, timestampMs: atMs,
    replicas: replicas.map(([name, cpu, memory = 1000, startedAt = STARTED]) => ({
      namespace: 'default', name, cpuUsageSeconds: cpu, memoryWorkingSetBytes: memory, memoryUsageBytes: memory * 2, startedAt,
    })),
    services: [],
  };
}

/** A delta report: the samples that changed, the replicas gone; every other replica held is unchanged. */
function delta(node: string, atMs: number, replicas: [string, number, number?][], gone: string[] = []): NodeUsageReport {
  return { ...report(node, atMs, replicas), delta: true, gone: gone.map((name) => `default/${name}`) };
}

function requests(node: string, atMs: number, total: number): NodeUsageReport {
  return { ...report(node, atMs, []), services: [{ namespace: 'default', service: 'web', requestsTotal: total }] };
}

describe('usage cache', () => {
  it('computes CPU cores from cumulative counters over the window, memory from the newest sample', () => {
    const cache = new UsageCache({ now: () => 0 }); // received at once: never stale
    cache.record(report('node-1', 10_000, [['web-1', 100]]));
    assert.equal(cache.replicaUsage()[0].cpuCores, null, 'one sample: no rate yet');
    for (let i = 1; i <= 8; i++) cache.record(report('node-1', 10_000 + i * 1000, [['web-1', 100 + i * 0.5, 1000 + i]]));
    const [web] = cache.replicaUsage(5000);
    // newest at 18 s: 104 cpu-seconds; oldest within 5 s at 13 s: 101.5 → 2.5 s of CPU in 5 s = 0.5 cores
    assert.equal(web.cpuCores, 0.5);
    assert.equal(web.windowSeconds, 5);
    assert.equal(web.memoryWorkingSetBytes, 1008);
    assert.equal(web.memoryUsageBytes, 2016);
    assert.equal(web.node, 'node-1');
    assert.equal(cache.cpuCores('default', 'web-1', 1000), 0.5); // 104 - 103.5 over 1 s
    assert.deepEqual(cache.cpuCounter('default', 'web-1'), { atMs: 18_000, cpuSeconds: 104, startedAt: STARTED }, 'the newest counter, as scraped');
    assert.equal(cache.cpuCounter('default', 'web-9'), undefined);
  });

  it('starts over for a restarted container and forgets replicas a node no longer reports', () => {
    const cache = new UsageCache({ now: () => 0 });
    cache.record(report('node-1', 1000, [['web-1', 50], ['web-2', 10]]));
    cache.record(report('node-1', 2000, [['web-1', 0.2, 1000, '2024-05-01T11:00:00.000Z']]));
    const usage = cache.replicaUsage();
    assert.deepEqual(usage.map((u) => u.name), ['web-1']);
    assert.equal(usage[0].cpuCores, null, 'no rate across a restart (the counter went from 50 back to 0.2)');
  });

  it('sums a node\'s replicas and leaves out nodes that stopped reporting', () => {
    let now = 0;
    const cache = new UsageCache({ now: () => now, staleMs: 5000 });
    cache.record(report('node-1', 1000, [['a', 1, 100], ['b', 2, 200]]));
    cache.record(report('node-2', 1000, [['c', 1, 300]]));
    now = 3000;
    cache.record(report('node-1', 2000, [['a', 1.5, 100], ['b', 2.25, 200]]));
    assert.deepEqual(cache.nodeUsage().map((n) => [n.node, n.cpuCores, n.memoryWorkingSetBytes, n.replicas]), [
      ['node-1', 0.75, 300, 2], // 0.5 + 0.25 cores
      ['node-2', 0, 300, 1], // a rate needs two samples
    ]);
    now = 7000; // node-2 last reported at 0, node-1 at 3000
    assert.deepEqual(cache.nodeUsage().map((n) => n.node), ['node-1']);
    assert.deepEqual(cache.replicaUsage().map((r) => r.name), ['a', 'b']);
  });

  it('takes a replica absent from a delta as unchanged as of its timestamp', () => {
    const cache = new UsageCache({ now: () => 0 });
    cache.record(report('node-1', 1000, [['idle', 5, 100], ['busy', 10, 100]]));
    for (let at = 2000; at <= 8000; at += 2000) cache.record(delta('node-1', at, [['busy', 10 + at / 1000, 100 + at]]));
    // busy at 8 s: 18. The window starts at 3 s; its 12 was last confirmed by the report of 2 s, so the
    // oldest figures known within the window are 14, from 4 s: (18 - 14) / 4 s = 1 core.
    const [busy, idle] = cache.replicaUsage(5000);
    assert.deepEqual([busy.name, busy.cpuCores, busy.windowSeconds, busy.memoryWorkingSetBytes], ['busy', 1, 4, 8100]);
    // idle: 5 since 1 s and confirmed by every report: 0 over the whole window, timestamped with the latest report.
    assert.deepEqual([idle.name, idle.cpuCores, idle.windowSeconds, idle.timestamp], ['idle', 0, 5, new Date(8000).toISOString()]);
    assert.deepEqual(cache.cpuCounter('default', 'idle'), { atMs: 8000, cpuSeconds: 5, startedAt: STARTED }, 'its counter as of the latest report');
  });

  it('rates a replica that ran after a still spell from its figures at the window\'s start', () => {
    const cache = new UsageCache({ now: () => 0 });
    cache.record(report('node-1', 1000, [['web-1', 1]]));
    for (let at = 2000; at <= 7000; at += 1000) cache.record(delta('node-1', at, []));
    cache.record(delta('node-1', 8000, [['web-1', 2]]));
    // 1 cpu-second held from 1 s to the report of 7 s, so at the window's start (3 s): (2 - 1) / 5 s = 0.2 cores, as full reports every second give.
    assert.equal(cache.cpuCores('default', 'web-1', 5000), 0.2);
    const full = new UsageCache({ now: () => 0 });
    for (let at = 1000; at <= 7000; at += 1000) full.record(report('node-1', at, [['web-1', 1]]));
    full.record(report('node-1', 8000, [['web-1', 2]]));
    assert.equal(full.cpuCores('default', 'web-1', 5000), 0.2);
  });

  it('drops a delta\'s gone replicas, and a full report replaces the set', () => {
    const cache = new UsageCache({ now: () => 0 });
    cache.record(report('node-1', 1000, [['a', 1], ['b', 1], ['c', 1]]));
    cache.record(delta('node-1', 2000, [], ['b']));
    assert.deepEqual(cache.replicaUsage().map((u) => u.name), ['a', 'c']);
    cache.record(report('node-1', 3000, [['c', 1], ['d', 0]]));
    assert.deepEqual(cache.replicaUsage().map((u) => u.name), ['c', 'd'], 'a, not in the full report, stopped running there');
    assert.equal(cache.cpuCores('default', 'c'), 0, 'c kept its samples: 0 over 2 s');
  });

  it('refuses a delta it has no set for, and holds the set once a full report came', () => {
    let now = 0;
    const cache = new UsageCache({ now: () => now, staleMs: 5000 });
    assert.deepEqual(cache.record(delta('node-1', 1000, [['a', 1]])), { holdsFullSet: false }, 'never had node-1\'s set');
    assert.deepEqual(cache.replicaUsage(), [], 'nothing recorded from it');
    assert.deepEqual(cache.record(report('node-1', 2000, [['a', 1]])), { holdsFullSet: true });
    assert.deepEqual(cache.record(delta('node-1', 3000, [])), { holdsFullSet: true });
    assert.deepEqual(cache.record(delta('node-1', 2500, [])), { holdsFullSet: false }, 'older than the set held (the agent\'s clock went back)');
    now = 10_000;
    assert.deepEqual(cache.nodeUsage(), [], 'silent for longer than staleMs: its set is dropped');
    assert.deepEqual(cache.record(delta('node-1', 12_000, [])), { holdsFullSet: false });
  });

  it('sums the request rates of every node\'s balancer, each over its own samples, and starts over when a counter goes down', () => {
    const cache = new UsageCache({ now: () => 0 });
    cache.record(requests('node-1', 1000, 100));
    assert.equal(cache.requestRate('default', 'web'), undefined, 'one sample: no rate');
    cache.record(requests('node-1', 2000, 150));
    cache.record(requests('node-1', 3000, 250));
    cache.record(requests('node-2', 5500, 7));
    cache.record(requests('node-2', 6000, 17));
    // node-1: (250 - 100) / 2 s = 75/s over the 5 s window, only the last second with 1 s: 100/s.
    // node-2: (17 - 7) / 0.5 s = 20/s.
    assert.equal(cache.requestRate('default', 'web', 5000), 95);
    assert.equal(cache.requestRate('default', 'web', 1000), 120);
    assert.equal(cache.requestRate('default', 'other'), undefined);
    // node-1's agent restarted: its counter is back at 3, which alone gives no rate.
    cache.record(requests('node-1', 4000, 3));
    assert.equal(cache.requestRate('default', 'web', 5000), 20);
  });

  it('rates requests over the times the counters were read, not the CPU sample\'s', () => {
    const cache = new UsageCache({ now: () => 0 });
    const counted = (atMs: number, countedAtMs: number, total: number): NodeUsageReport =>
      ({ ...report('node-1', atMs, []), services: [{ namespace: 'default', service: 'web', requestsTotal: total, countedAtMs }] });
    // Samples 1 s apart, counters read 0.1 s and 0.6 s after them: (200 - 100) / 1.5 s, not / 1 s.
    cache.record(counted(1000, 1100, 100));
    cache.record(counted(2000, 2600, 200));
    assert.equal(Math.round(cache.requestRate('default', 'web', 5000)! * 10) / 10, 66.7);
  });

  it('estimates a latency quantile from every node\'s answers within the window', () => {
    const cache = new UsageCache({ now: () => 0 });
    // Buckets of LATENCY_BOUNDS_SECONDS: index 4 is (0.005, 0.01], index 7 (0.05, 0.1]; 15 counts in all.
    const latencies = (node: string, atMs: number, fast: number, slow: number): NodeUsageReport => {
      const latencyCounts = new Array<number>(15).fill(0);
      latencyCounts[4] = fast;
      latencyCounts[7] = slow;
      return { ...report(node, atMs, []), services: [{ namespace: 'default', service: 'web', requestsTotal: fast + slow, latencyCounts }] };
    };
    cache.record(latencies('node-1', 1000, 500, 0));
    cache.record(latencies('node-1', 2000, 590, 0));
    assert.ok(Math.abs(cache.latencyQuantile('default', 'web', 0.99)! - (0.005 + 0.005 * (89.1 / 90))) < 1e-9, 'node-1 alone: 90 fast answers');
    cache.record(latencies('node-2', 1500, 0, 0));
    cache.record(latencies('node-2', 2500, 0, 10));
    // 90 fast + 10 slow: rank 99 lies in the slow bucket, 9 of its 10: 0.05 + 0.05 * (9 / 10) = 0.095.
    assert.ok(Math.abs(cache.latencyQuantile('default', 'web', 0.99)! - 0.095) < 1e-9);
    assert.equal(cache.latencyQuantile('default', 'other', 0.99), undefined);
  });

  it('renders a node\'s held set as one full report that a fresh cache takes, and the deltas after it', () => {
    let now = 0;
    const cache = new UsageCache({ now: () => now, staleMs: 5000 });
    cache.record(report('node-1', 1000, [['a', 1, 100], ['b', 2, 200]]));
    // b unchanged as of 2 s (its run holds), a's figures moved, c started; the balancer counted 7 then 9 requests.
    cache.record({ ...delta('node-1', 2000, [['a', 1.5, 150], ['c', 0.1, 50]]), services: [{ namespace: 'shop', service: 'web', requestsTotal: 7, countedAtMs: 1900 }] });
    cache.record({ ...delta('node-1', 3000, [], ['c']), services: [{ namespace: 'shop', service: 'web', requestsTotal: 9, countedAtMs: 2900, latencyCounts: [9, 0] }] });
    const full = cache.fullReport('node-1');
    assert.deepEqual(full, {
      nodeName: 'node-1', timestampMs: 3000,
      replicas: [
        { namespace: 'default', name: 'a', cpuUsageSeconds: 1.5, memoryWorkingSetBytes: 150, memoryUsageBytes: 300, startedAt: STARTED },
        { namespace: 'default', name: 'b', cpuUsageSeconds: 2, memoryWorkingSetBytes: 200, memoryUsageBytes: 400, startedAt: STARTED },
      ],
      services: [{ namespace: 'shop', service: 'web', requestsTotal: 9, countedAtMs: 2900, latencyCounts: [9, 0] }],
    }, 'the newest figures of each replica held (c is gone), at the node\'s latest report; not a delta');

    const peer = new UsageCache({ now: () => now });
    assert.deepEqual(peer.record(full!), { holdsFullSet: true });
    assert.deepEqual(peer.record(delta('node-1', 4000, [['a', 2.5, 150]])), { holdsFullSet: true }, 'the agent\'s next delta applies to it');
    assert.deepEqual(peer.replicaUsage().map((u) => [u.name, u.cpuCores, u.memoryWorkingSetBytes]), [['a', 1, 150], ['b', 0, 200]]);
    assert.deepEqual(peer.nodeUsage().map((n) => n.replicas), [2]);

    assert.equal(cache.fullReport('node-9'), undefined, 'a node never heard of');
    now = 6000;
    assert.equal(cache.fullReport('node-1'), undefined, 'a node gone quiet is not held');
  });
});
