/**
 * What the control plane holds of the node's usage, as the answers to the agent's reports tell it,
 * and so what the next report must carry. A node at rest changes few samples between reports, but a
 * full report carries every replica's: at 1,000 idle replicas its building, encoding and garbage
 * were most of the agent's JavaScript at rest (BENCHMARKS.md, density). Once the control plane has
 * answered that it holds the node's set (UsageReportAck.holdsFullSet) on the current connection, a
 * report carries only the samples that differ from what it acknowledged, and the replicas gone since
 * (UsageReport.delta in proto/tide/v1/agent.proto).
 *
 * A full report goes instead on a new connection (another control plane, or one back from an outage,
 * may hold nothing or an older set), when the control plane did not say it holds the set (an older
 * control plane never does: it keeps getting full reports), and every FULL_REPORT_INTERVAL_MS as a
 * backstop. A report that was not answered changes nothing here: the next delta is built against the
 * same acknowledged set, so it carries whatever the lost one did.
 */
import { NodeUsageReport, ReplicaUsageSample, UsageReportAck } from '@tide/api';
import { ContainerSample, UsageSnapshot } from './usage.sampler';

/** A full report at least this often, whatever the control plane said. */
export const FULL_REPORT_INTERVAL_MS = 60_000;

/** The replicas' samples of a report; the services' counters are the reporter's (always all of them). */
export type ReplicaPart = Pick<NodeUsageReport, 'replicas' | 'delta' | 'gone'>;

interface HeldSample {
  key: string;
  cpuUsageSeconds: number;
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  startedAtMs: number;
}

interface HeldSet {
  session: number;
  fullAtMs: number;
  /** By container id. */
  samples: Map<string, HeldSample>;
}

/** A report's replica part, and what the control plane holds once it acknowledges it. */
export interface PendingUsage {
  part: ReplicaPart;
  acknowledged(ack: UsageReportAck): void;
}

export class AcknowledgedUsage {
  private held?: HeldSet;

  constructor(private readonly fullEveryMs = FULL_REPORT_INTERVAL_MS) {}

  /** The replica part of the report to send on `session` now, full or a delta against the acknowledged set. */
  next(snapshot: UsageSnapshot, session: number, nowMs: number): PendingUsage {
    const held = this.held;
    if (!held || held.session !== session || nowMs - held.fullAtMs >= this.fullEveryMs) return this.full(snapshot, session, nowMs);
    const changed: ContainerSample[] = [];
    let stillHeld = 0;
    for (const r of snapshot.replicas) {
      const before = held.samples.get(r.containerId);
      if (before) stillHeld++;
      if (!sameSample(before, r)) changed.push(r);
    }
    // Every held id seen again: none is gone, and no set of the snapshot's ids is needed to say so.
    const gone = stillHeld === held.samples.size ? [] : goneSince(held.samples, snapshot.replicas);
    return {
      part: { replicas: changed.map(replicaSample), delta: true, gone: gone.map((id) => held.samples.get(id)!.key) },
      acknowledged: (ack) => {
        if (!ack.holdsFullSet) return void (this.held = undefined);
        for (const r of changed) held.samples.set(r.containerId, heldSample(r));
        for (const id of gone) held.samples.delete(id);
      },
    };
  }

  private full(snapshot: UsageSnapshot, session: number, nowMs: number): PendingUsage {
    return {
      part: { replicas: snapshot.replicas.map(replicaSample) },
      acknowledged: (ack) => {
        this.held = ack.holdsFullSet
          ? { session, fullAtMs: nowMs, samples: new Map(snapshot.replicas.map((r) => [r.containerId, heldSample(r)])) }
          : undefined;
      },
    };
  }
}

/** The container ids held that the snapshot no longer has. */
function goneSince(held: Map<string, HeldSample>, replicas: ContainerSample[]): string[] {
  const running = new Set(replicas.map((r) => r.containerId));
  return [...held.keys()].filter((id) => !running.has(id));
}

function sameSample(held: HeldSample | undefined, r: ContainerSample): boolean {
  return held !== undefined && held.cpuUsageSeconds === r.usage.cpuUsageSeconds && held.memoryWorkingSetBytes === r.usage.memoryWorkingSetBytes
    && held.memoryUsageBytes === r.usage.memoryUsageBytes && held.startedAtMs === r.startedAt.getTime();
}

function heldSample(r: ContainerSample): HeldSample {
  return {
    key: `${r.namespace}/${r.name}`, cpuUsageSeconds: r.usage.cpuUsageSeconds, memoryWorkingSetBytes: r.usage.memoryWorkingSetBytes,
    memoryUsageBytes: r.usage.memoryUsageBytes, startedAtMs: r.startedAt.getTime(),
  };
}

export function replicaSample(r: ContainerSample): ReplicaUsageSample {
  return {
    namespace: r.namespace, name: r.name, cpuUsageSeconds: r.usage.cpuUsageSeconds,
    memoryWorkingSetBytes: r.usage.memoryWorkingSetBytes, memoryUsageBytes: r.usage.memoryUsageBytes, startedAt: r.startedAt.toISOString(),
  };
}
