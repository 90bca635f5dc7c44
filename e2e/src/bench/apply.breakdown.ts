/**
 * Where an apply round's time goes: for each step, the ms after the apply at which the last replica of
 * the round got through it, from timestamps the cluster keeps anyway (one clock: every process runs on
 * this machine). `created`: the Replica objects (the service controller); `scheduled`: their
 * `Scheduled` events (the scheduler's bindings); `assigned`: the agents' log line for a desired set
 * with new replicas (the assignment reached the agent); `started`: the containers' `startedAt` (the
 * agent recorded the started init, just before "go"); `running`: the bench saw all of them Running
 * through the API (the agents' status reports written and read back).
 */
import { TideEvent } from '@tide/api';
import { TestCluster } from '../harness';

export interface RoundSteps {
  created: number;
  scheduled: number;
  assigned: number;
  started: number;
  running: number;
}

const AGENT_DESIRED = /^(\S+) node-agent \S+: desired \d+ replica\(s\): [1-9]\d* new/;

export async function roundSteps(cluster: TestCluster, service: string, appliedAtMs: number, runningMs: number): Promise<RoundSteps> {
  const replicas = await cluster.replicas(service);
  const names = new Set(replicas.map((r) => r.metadata.name));
  const events = (await cluster.api<{ items: TideEvent[] }>('/api/v1/events?namespace=default&kind=Replica')).items
    .filter((e) => e.spec.reason === 'Scheduled' && names.has(e.spec.involvedObject.name));
  const endMs = appliedAtMs + runningMs;
  const assigned = cluster.logLines(AGENT_DESIRED)
    .map((line) => Date.parse(AGENT_DESIRED.exec(line)?.[1] ?? ''))
    .filter((ms) => ms >= appliedAtMs && ms <= endMs);
  const after = (times: (string | number | undefined)[]) => {
    const ms = times.map((t) => (typeof t === 'string' ? Date.parse(t) : t)).filter((t): t is number => t !== undefined && !Number.isNaN(t));
    return ms.length ? Math.round(Math.max(...ms) - appliedAtMs) : NaN;
  };
  return {
    created: after(replicas.map((r) => r.metadata.creationTimestamp)),
    scheduled: after(events.map((e) => e.spec.timestamp)),
    assigned: after(assigned),
    started: after(replicas.map((r) => r.status?.startedAt)),
    running: Math.round(runningMs),
  };
}

/** Each step's median over the rounds (an odd number). */
export function medianSteps(rounds: RoundSteps[]): RoundSteps {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const keys = ['created', 'scheduled', 'assigned', 'started', 'running'] as const;
  return Object.fromEntries(keys.map((key) => [key, median(rounds.map((r) => r[key]))])) as unknown as RoundSteps;
}
