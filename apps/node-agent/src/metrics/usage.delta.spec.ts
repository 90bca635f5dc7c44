/**
 * What the agent sends of its node's usage: a full report until the control plane says it holds the
 * set on the current connection, then only the samples that changed and the replicas gone since the
 * last acknowledged report; a full report again on a new connection, after a refusal, and every
 * minute. Driven through the reporter with a sink that plays the control plane.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NodeUsageReport, UsageReportAck } from '@tide/api';
import { FULL_REPORT_INTERVAL_MS } from './usage.delta';
import { UsageReporter, UsageSink } from './usage.reporter';
import { UsageSampler, UsageSnapshot } from './usage.sampler';

const STARTED = new Date('2026-01-01T00:00:00.000Z');

/** A node whose replicas' CPU seconds the test sets (memory fixed). */
class Node {
  readonly cpu = new Map<string, number>();
  takenAt = 1000;
  snapshot(): UsageSnapshot {
    return {
      takenAt: this.takenAt,
      replicas: [...this.cpu].map(([name, cpu]) => ({
        namespace: 'default', name, service: 'web', containerId: `default.${name}`, image: 'busybox', startedAt: STARTED,
        usage: { cpuUsageSeconds: cpu, memoryWorkingSetBytes: 100, memoryUsageBytes: 200, oomEvents: 0 },
      })),
    };
  }
}

/** The control plane as the agent sees it: the reports received, the answer to give, the connection's number. */
class Sink implements UsageSink {
  readonly reports: NodeUsageReport[] = [];
  session: number | undefined = 1;
  answer: UsageReportAck | undefined = { holdsFullSet: true };
  usageSession(): number | undefined {
    return this.session;
  }
  async reportUsage(report: NodeUsageReport, session: number): Promise<UsageReportAck | undefined> {
    if (session !== this.session) return undefined;
    this.reports.push(report);
    return this.answer;
  }
  /** What the last report carried: full or delta, the replicas' names and CPU seconds, the gone keys. */
  last(): { delta: boolean; replicas: [string, number][]; gone: string[] } {
    const report = this.reports[this.reports.length - 1];
    return { delta: report.delta === true, replicas: report.replicas.map((r) => [r.name, r.cpuUsageSeconds]), gone: report.gone ?? [] };
  }
}

function setup(): { node: Node; sink: Sink; reporter: UsageReporter; clock: { now: number } } {
  const node = new Node();
  const sink = new Sink();
  const clock = { now: 1000 };
  const sampler = { sample: async () => node.snapshot() } as unknown as UsageSampler;
  const reporter = new UsageReporter('node-1', sampler, () => sink, 1000, undefined, () => clock.now);
  return { node, sink, reporter, clock };
}

describe('usage reports: deltas against what the control plane acknowledged', () => {
  it('sends every sample first, then only those that changed, and the replicas gone', async () => {
    const { node, sink, reporter } = setup();
    node.cpu.set('web-1', 1).set('web-2', 2).set('web-3', 3);
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: false, replicas: [['web-1', 1], ['web-2', 2], ['web-3', 3]], gone: [] });
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: true, replicas: [], gone: [] }, 'nothing moved: an empty delta (it keeps the node fresh)');
    node.cpu.set('web-2', 2.5).delete('web-3');
    node.cpu.set('web-4', 0);
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: true, replicas: [['web-2', 2.5], ['web-4', 0]], gone: ['default/web-3'] });
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: true, replicas: [], gone: [] }, 'acknowledged: not sent again');
  });

  it('builds the next delta against the last acknowledged set when a report went unanswered', async () => {
    const { node, sink, reporter } = setup();
    node.cpu.set('web-1', 1).set('web-2', 2);
    await reporter.report();
    sink.answer = undefined; // lost on the way
    node.cpu.set('web-1', 1.5).delete('web-2');
    await reporter.report();
    sink.answer = { holdsFullSet: true };
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: true, replicas: [['web-1', 1.5]], gone: ['default/web-2'] }, 'what the lost one carried, again');
  });

  it('sends a full report on a new connection, after the control plane says it holds no set, and every minute', async () => {
    const { node, sink, reporter, clock } = setup();
    node.cpu.set('web-1', 1);
    await reporter.report();
    await reporter.report();
    assert.equal(sink.last().delta, true);
    sink.session = 2; // reconnected, perhaps to another control plane
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: false, replicas: [['web-1', 1]], gone: [] });
    sink.answer = { holdsFullSet: false }; // the control plane lost the node's set (restarted), or is an older one
    await reporter.report();
    await reporter.report();
    await reporter.report();
    assert.deepEqual(sink.reports.slice(-3).map((r) => r.delta === true), [true, false, false], 'the delta refused: full reports until it holds the set');
    sink.answer = { holdsFullSet: true };
    await reporter.report();
    await reporter.report();
    assert.equal(sink.last().delta, true);
    clock.now += FULL_REPORT_INTERVAL_MS;
    await reporter.report();
    assert.deepEqual(sink.last(), { delta: false, replicas: [['web-1', 1]], gone: [] }, 'the backstop');
  });

  it('sends nothing while there is no connection', async () => {
    const { node, sink, reporter } = setup();
    node.cpu.set('web-1', 1);
    sink.session = undefined;
    await reporter.report();
    assert.equal(sink.reports.length, 0);
  });
});
