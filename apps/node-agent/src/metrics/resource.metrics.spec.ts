import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { Registry } from 'prom-client';
import { ContainerInfo, ContainerUsage } from '@tide/runtime';
import { ReplicaRecord, newRecord } from '../reconcile/replica.record';
import { assignment } from '../testing/assignments';
import { registerResourceMetrics } from './resource.metrics';
import { LARGE_NODE_REPLICAS, usageReport, usageReportIntervalMs } from './usage.reporter';
import { UsageSampler } from './usage.sampler';

/** The value of the one series with this name whose labels include these; undefined when there is none. */
function seriesValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function runningRecord(namespace: string, name: string, service: string, startedAt: Date): ReplicaRecord {
  const record = newRecord(namespace, name);
  record.assignment = assignment(name, { namespace, service, templateHash: 'h' });
  record.container = { id: `${namespace}.${name}`, pid: 1, startedAt, logPath: '/dev/null', spec: { image: 'busybox:latest', labels: {} } } as unknown as ContainerInfo;
  return record;
}

/** A runtime whose usage figures the test sets, counting the reads. */
class UsageTable {
  reads = 0;
  readonly table = new Map<string, ContainerUsage>();
  async usage(id: string): Promise<ContainerUsage | undefined> {
    this.reads++;
    return this.table.get(id);
  }
}

describe('agent resource metrics', () => {
  const started = new Date('2024-05-01T10:00:00Z');
  const records = [runningRecord('default', 'web-a1', 'web', started), runningRecord('shop', 'db-b2', 'db', started)];
  const usage = new UsageTable();
  usage.table.set('default.web-a1', {
    cpuUsageSeconds: 12.5, memoryWorkingSetBytes: 3e6, memoryUsageBytes: 5e6, memoryLimitBytes: 64 * 2 ** 20, cpuQuotaMicros: 50_000, cpuPeriodMicros: 100_000, oomEvents: 2,
  });
  usage.table.set('shop.db-b2', { cpuUsageSeconds: 1, memoryWorkingSetBytes: 1e6, memoryUsageBytes: 2e6, oomEvents: 0 });

  it('serves cAdvisor container series with replica labels, read once per scrape', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ node: 'node-1' });
    registerResourceMetrics({ registry, runtime: usage, records: () => records, paths: [os.tmpdir()] });
    usage.reads = 0;
    const text = await registry.metrics();
    assert.equal(usage.reads, 2, 'one usage read per container for the whole scrape');
    const web = { namespace: 'default', service: 'web', replica: 'web-a1', pod: 'web-a1', container: 'web', name: 'default.web-a1', image: 'busybox:latest', node: 'node-1' };
    assert.equal(seriesValue(text, 'container_cpu_usage_seconds_total', web), 12.5);
    assert.match(text, /# TYPE container_cpu_usage_seconds_total counter/);
    assert.equal(seriesValue(text, 'container_memory_working_set_bytes', web), 3e6);
    assert.equal(seriesValue(text, 'container_memory_usage_bytes', web), 5e6);
    assert.equal(seriesValue(text, 'container_spec_memory_limit_bytes', web), 64 * 2 ** 20);
    assert.equal(seriesValue(text, 'container_spec_cpu_quota', web), 50_000);
    assert.equal(seriesValue(text, 'container_spec_cpu_period', web), 100_000);
    assert.equal(seriesValue(text, 'container_oom_events_total', web), 2);
    assert.equal(seriesValue(text, 'container_start_time_seconds', web), started.getTime() / 1000);
    const db = { namespace: 'shop', replica: 'db-b2' };
    assert.equal(seriesValue(text, 'container_spec_memory_limit_bytes', db), 0, 'no limit is 0, as cAdvisor says');
    assert.equal(seriesValue(text, 'container_spec_cpu_quota', db), undefined, 'no quota, no series');
  });

  it('reads every container anew after expire(), and says when the figures were read', async () => {
    const registry = new Registry();
    const resources = registerResourceMetrics({ registry, runtime: usage, records: () => records, paths: [os.tmpdir()] });
    const before = Date.now();
    const first = await registry.metrics();
    usage.reads = 0;
    await registry.metrics();
    assert.equal(usage.reads, 0, 'a scrape right after another shares its sample');
    resources.expire();
    const third = await registry.metrics();
    assert.equal(usage.reads, 2, 'one read per container for the whole scrape');
    const sampledAt = seriesValue(third, 'tide_container_usage_sampled_at_seconds')!;
    assert.ok(sampledAt * 1000 >= before && sampledAt * 1000 <= Date.now(), `sampled at ${sampledAt}`);
    assert.ok(sampledAt >= seriesValue(first, 'tide_container_usage_sampled_at_seconds')!);
  });

  it('serves node_exporter node series from /proc and statfs', async () => {
    const registry = new Registry();
    registerResourceMetrics({ registry, runtime: usage, records: () => [], paths: [os.tmpdir()] });
    const text = await registry.metrics();
    assert.ok((seriesValue(text, 'node_cpu_seconds_total', { cpu: '0', mode: 'idle' }) ?? 0) > 0, 'cpu0 has idled some time');
    assert.equal(seriesValue(text, 'node_memory_MemTotal_bytes'), os.totalmem());
    assert.ok((seriesValue(text, 'node_memory_MemAvailable_bytes') ?? 0) > 0);
    assert.ok(Math.abs((seriesValue(text, 'node_load1') ?? -1) - os.loadavg()[0]) < 1);
    assert.ok((seriesValue(text, 'node_filesystem_size_bytes') ?? 0) > 0, 'the filesystem of the temp dir');
    assert.match(text, /node_filesystem_avail_bytes\{device="[^"]+",fstype="[^"]+",mountpoint="\/[^"]*"\}/);
    assert.ok((seriesValue(text, 'node_network_receive_bytes_total', { device: 'lo' }) ?? -1) >= 0);
    assert.doesNotMatch(text, /^container_/m, 'no containers, no container series');
  });

  it('shares one sample between consumers that come within its age, and reports it', async () => {
    let now = 1000;
    usage.reads = 0;
    const sampler = new UsageSampler(usage, () => records, 250, () => now);
    const first = await sampler.sample();
    now += 100;
    assert.equal(await sampler.sample(), first);
    now += 200;
    assert.notEqual(await sampler.sample(), first);
    assert.equal(usage.reads, 4);
    const report = usageReport('node-1', first);
    assert.equal(report.timestampMs, 1000);
    assert.deepEqual(report.replicas?.[0], {
      namespace: 'default', name: 'web-a1', cpuUsageSeconds: 12.5, memoryWorkingSetBytes: 3e6, memoryUsageBytes: 5e6, startedAt: started.toISOString(),
    });
    assert.deepEqual(report.services, [], 'no balancer: no request counters');
    const counters = { serviceRequests: () => [{ namespace: 'shop', service: 'web', requests: 1234 }] };
    assert.deepEqual(usageReport('node-1', first, counters, 5678).services, [{ namespace: 'shop', service: 'web', requestsTotal: 1234, countedAtMs: 5678 }]);
  });

  it('reports a large node every 2 s, a smaller one every second', () => {
    assert.equal(usageReportIntervalMs(0), 1000);
    assert.equal(usageReportIntervalMs(LARGE_NODE_REPLICAS - 1), 1000);
    assert.equal(usageReportIntervalMs(LARGE_NODE_REPLICAS), 2000);
    assert.equal(usageReportIntervalMs(1000, 500), 1000, 'twice the configured period');
  });
});
