/**
 * log-flood: a container writes to stdout as fast as it can (busybox `yes` with 1 KiB lines) for
 * 30 s beside the workload. What must hold: its log files stay within the rotation bound
 * (files × 2 × size, plus what it writes between two of the agent's half-second checks), the agent
 * stays responsive (its /healthz answers) and the other Services keep serving. Shaped as the chaos
 * suite's ChaosScenario (e2e/src/bench/chaos/scenario.ts on the chaos branch): one line in
 * scenarios.ts runs it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestCluster } from '../../harness';
import { running, waitFor } from '../../harness';

const FLOOD = 'chx-flood';
const FLOOD_MS = 30_000;
/** The agents' defaults (--container-log-max-size 10Mi, --container-log-max-files 5). */
const LOG_LIMITS = { maxSizeBytes: 10 * 2 ** 20, maxFiles: 5 };

export interface FloodContext {
  cluster: TestCluster;
  log(line: string): void;
}

export type FloodFigures = {
  /** The flood replica's log files at their largest, in bytes, and the bound they must stay under. */
  max_log_bytes: number;
  log_bound_bytes: number;
  /** Bytes the container wrote (what rotation let go included): how hard it flooded. */
  written_bytes: number;
  /** The slowest answer of the flooded node's agent to /healthz, ms, and how many it did not give. */
  agent_healthz_max_ms: number;
  agent_healthz_failures: number;
};

export const logFlood = {
  name: 'log-flood',
  fault: 'a container writing 1 KiB lines to stdout as fast as it can for 30 s',
  takesServingReplicas: false,
  needs: {},
  async inject({ cluster, log }: FloodContext): Promise<{ faultOverAt: number; figures: FloodFigures }> {
    const figures = await flood(cluster, log);
    return { faultOverAt: performance.now(), figures };
  },
};

/** Runs the flood, measures, and deletes the flooding Service (its files go with its replica). */
export async function flood(cluster: TestCluster, log: (line: string) => void): Promise<FloodFigures> {
  const applied = await cluster.apply(floodService());
  if (applied.code !== 0) throw new Error(`log-flood: apply: ${applied.stderr}`);
  const [replica] = await waitFor('the flood running', async () => {
    const up = running(await cluster.replicas(FLOOD));
    return up.length === 1 ? up : undefined;
  }, 120_000);
  const nodeName = replica.spec.nodeName!;
  const node = (await cluster.nodeList()).find((n) => n.metadata.name === nodeName)!;
  const logDir = path.join(cluster.stateDir, 'nodes', nodeName, 'logs');
  const prefix = `default.${replica.metadata.name}.log`;
  log(`log-flood: ${replica.metadata.name} floods on ${nodeName}`);
  const figures: FloodFigures = {
    max_log_bytes: 0, log_bound_bytes: LOG_LIMITS.maxFiles * 2 * LOG_LIMITS.maxSizeBytes, written_bytes: 0,
    agent_healthz_max_ms: 0, agent_healthz_failures: 0,
  };
  const until = performance.now() + FLOOD_MS;
  while (performance.now() < until) {
    figures.max_log_bytes = Math.max(figures.max_log_bytes, filesBytes(logDir, prefix));
    const asked = performance.now();
    const healthy = await cluster.agentFetch(node, '/healthz', { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    if (!healthy) figures.agent_healthz_failures++;
    figures.agent_healthz_max_ms = Math.max(figures.agent_healthz_max_ms, Math.round(performance.now() - asked));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  figures.written_bytes = writtenBytes(replica.status?.pid);
  const deleted = await cluster.tsctl(['delete', 'service', FLOOD]);
  if (deleted.code !== 0) throw new Error(`log-flood: delete: ${deleted.stderr}`);
  log(`log-flood: ${JSON.stringify(figures)}`);
  return figures;
}

function floodService(): string {
  // 1 KiB lines; a CPU limit keeps the flood to a share of the machine the others can live with.
  return `apiVersion: tide/v1
kind: Service
metadata: { name: ${FLOOD} }
spec:
  replicas: 1
  image: busybox
  command: ["sh", "-c", "exec yes $(printf '%01023d' 0)"]
  resources: { requests: { cpu: 50m, memory: 16Mi }, limits: { cpu: 300m } }
  terminationGracePeriodSeconds: 0
`;
}

/** The replica's current file and its rotated copies. */
function filesBytes(dir: string, prefix: string): number {
  let bytes = 0;
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (name !== prefix && !(name.startsWith(`${prefix}.`) && /^\d+$/.test(name.slice(prefix.length + 1)))) continue;
    try {
      bytes += fs.statSync(path.join(dir, name)).size;
    } catch {
      /* rotated meanwhile */
    }
  }
  return bytes;
}

/** What the flooding process wrote (wchar of /proc/PID/io), 0 when it cannot be read. */
function writtenBytes(pid: number | undefined): number {
  try {
    return Number(/wchar: (\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
