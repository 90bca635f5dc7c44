/**
 * One chaos scenario, start to end, the same way for all: a fresh cluster (two nodes), the workload
 * (chaos.workload.ts), the fault (the scenario), then the measures:
 *   failed_requests     requests of the HTTP load that failed (error, 5 s without an answer, not 200),
 *                       from the start of the load to 3 s after recovery;
 *   lost_writes         acknowledged writes etcd does not hold afterwards (ledger.check.ts);
 *   phantom_writes      refused writes etcd holds;
 *   duplicate_replicas  replica identities seen running on two nodes at once, sampled every second;
 *   leaked              what a node holds (directory, address, mount, cgroup, process, veth) for no
 *                       replica bound to it, once the cluster converged and 30 s were given to clean up;
 *   recovery_s          from the end of the fault until the API is ready, a write was acknowledged, the
 *                       web Service serves its current template with every replica ready and each node's
 *                       published port answers.
 */
import { Agent } from 'undici';
import { TestCluster, waitFor } from '../../harness';
import { get } from '../../load.client';
import { OpenLoopLoad } from '../open-loop.load';
import { checkWrites } from './ledger.check';
import { EtcdClient } from './etcd.client';
import { duplicateIds, leftovers, liveContainers } from './host.checks';
import type { ChaosContext, ChaosScenario } from './scenario';
import { WriteStream, churnService } from './write.stream';
import {
  BASE_PORT, CHURN, ID_PREFIXES, PUBLISH_PORT, SPARE_API_PORT, WEB, WEB_REPLICAS, converged, listReplicas, readyServer, waitServing, webServing, webService,
} from './chaos.workload';

export interface ScenarioResult {
  name: string;
  failed_requests: number;
  lost_writes: number;
  duplicate_replicas: number;
  leaked: number;
  recovery_s: number | null;
  [more: string]: unknown;
}

const NODES = ['node-1', 'node-2'];
const RECOVERY_DEADLINE_MS = 180_000;

export async function runScenario(scenario: ChaosScenario, log: (line: string) => void): Promise<ScenarioResult> {
  const cluster = await TestCluster.start({
    nodes: NODES.length, basePort: BASE_PORT, podCidr: '100.65.208.0/22', nodeCidrMaskSize: 24,
    upFlags: scenario.needs.upFlags ?? [],
  });
  const dispatcher = new Agent({ connect: { ca: cluster.caPem } });
  try {
    const servers = [cluster.server]; // shared with the writer: a scenario's prepare may add one
    const context: ChaosContext = {
      cluster, servers,
      writes: new WriteStream({ servers, token: cluster.adminToken, dispatcher }, CHURN, 250),
      log, spare: { apiPort: SPARE_API_PORT, grpcPort: SPARE_API_PORT + 1 },
    };
    await scenario.prepare?.(context);
    return await underLoad(scenario, context);
  } catch (error) {
    throw new Error(`${scenario.name}: ${(error as Error).message}\n${cluster.logs()}`, { cause: error });
  } finally {
    await dispatcher.close().catch(() => undefined);
    await cluster.stop();
  }
}

async function underLoad(scenario: ChaosScenario, context: ChaosContext): Promise<ScenarioResult> {
  const { cluster, writes, log } = context;
  if ((await writes.apply(WEB, webService(writes.nextMark()), WEB_REPLICAS)).outcome !== 'acknowledged') throw new Error(`the apply of ${WEB} failed`);
  for (const name of CHURN) await writes.apply(name, churnService(name, 1, writes.nextMark()), 1);
  await waitServing(cluster, cluster.server, 180_000);
  const nodes = await cluster.nodeList();
  const load = new OpenLoopLoad(nodes.map((n) => `${n.spec.address}:${PUBLISH_PORT}`), 20, 5000);
  const duplicates = new DuplicateWatch(cluster.stateDir);
  load.start();
  writes.start();
  duplicates.start();
  await sleep(5000);
  log(`${scenario.name}: ${scenario.fault}`);
  const injected = (await scenario.inject(context)) ?? {};
  const faultOver = injected.faultOverAt ?? performance.now();
  log(`${scenario.name}: the fault is over; waiting for recovery`);
  const recovered = await waitFor('recovery', async () => {
    const server = await readyServer(cluster, context.servers);
    if (!server || !writes.acknowledgedSince(faultOver) || !(await webServing(cluster, server))) return undefined;
    const answers = await Promise.all(nodes.map((n) => get(n.spec.address, PUBLISH_PORT)));
    return answers.every((a) => a.status === 200) ? server : undefined;
  }, RECOVERY_DEADLINE_MS, 250).catch(() => undefined);
  const recoveryS = recovered ? Number(((performance.now() - faultOver) / 1000).toFixed(2)) : null;
  log(`${scenario.name}: ${recovered ? `recovered in ${recoveryS} s` : `not recovered within ${RECOVERY_DEADLINE_MS / 1000} s`}`);
  const lateFigures = await (injected.continuing ?? Promise.resolve({}));
  await writes.stop();
  await sleep(3000);
  await load.stop();
  const server = recovered ?? context.servers[0];
  const written = [...new Set(writes.ledger.map((record) => record.service))];
  const settled = await waitFor('every Service of the suite converged', () => converged(cluster, server, written), 180_000, 1000).then(() => true, () => false);
  duplicates.stop();
  const check = checkWrites(writes.ledger, etcdOf(cluster, scenario).services(['chx-']));
  const leaks = await leaksAfter(cluster, server);
  for (const line of [...check.details, ...leaks, ...duplicates.seen].slice(0, 40)) log(`  ${line}`);
  return {
    name: scenario.name, failed_requests: load.failed, lost_writes: check.lost, duplicate_replicas: duplicates.seen.size, leaked: leaks.length,
    recovery_s: recoveryS, phantom_writes: check.phantom, requests: load.sent, failures: load.failures, writes: writes.counts(),
    converged: settled, ...(leaks.length > 0 ? { leaks: leaks.slice(0, 10) } : {}), ...injected.figures, ...lateFigures,
  };
}

/** The etcd the cluster's control plane uses: every supervised member. */
export function etcdOf(cluster: TestCluster, scenario: ChaosScenario): EtcdClient {
  const members = scenario.needs.upFlags?.includes('--etcd-members') ? [BASE_PORT + 2, BASE_PORT + 5, BASE_PORT + 7] : [BASE_PORT + 2];
  return new EtcdClient(cluster.stateDir, members.map((port) => `https://127.0.0.1:${port}`));
}

/** What the nodes hold for no replica, given 30 s (a replica deleted last is still being stopped). */
async function leaksAfter(cluster: TestCluster, server: string): Promise<string[]> {
  let found: string[] = [];
  const bridges = cluster.logLines(/node-agent node-\d+: bridge tide/).map((line) => /bridge (tide[0-9a-f]+) at/.exec(line)?.[1]).filter((b): b is string => !!b);
  await waitFor('nothing left over', async () => {
    const wanted = new Map(NODES.map((node) => [node, new Set<string>()]));
    const replicas = await listReplicas(cluster, server).catch(() => undefined);
    if (!replicas) return undefined;
    for (const r of replicas) if (r.spec.nodeName) wanted.get(r.spec.nodeName)?.add(`${r.metadata.namespace}.${r.metadata.name}`);
    found = leftovers(cluster.stateDir, wanted, ID_PREFIXES, [...new Set(bridges)]);
    return found.length === 0;
  }, 30_000, 1000).catch(() => undefined);
  return found;
}

/** Samples the nodes' live containers every second and keeps every replica identity seen on two nodes at once. */
class DuplicateWatch {
  readonly seen = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly stateDir: string) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    for (const id of duplicateIds(liveContainers(this.stateDir, NODES))) this.seen.add(`duplicate: ${id}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
