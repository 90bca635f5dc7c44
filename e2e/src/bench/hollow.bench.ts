/**
 * hollow benchmark: a real control plane (its own process, supervising a real etcd) with N hollow
 * nodes (hollow.agent.ts: the real gRPC protocol, no containers) in this process. Once every node is
 * Ready, services totalling M replicas are applied through the HTTP API; measured from the apply:
 * when every replica has reached its node's assignment stream (created, scheduled, committed to
 * etcd, pushed), and when the API says every replica is Running (the agents' reports applied).
 * Reference in the same run: the scheduling library alone placing the same replicas on the same
 * nodes (what the control plane adds is etcd, gRPC and the loops). `control_plane_rss_mb` is the
 * control plane process's peak resident memory over the run (VmHWM; its etcd child not included).
 * Options: --nodes N (100) --replicas M (2000) --services S (10) --base-port P (19170: HTTP P, gRPC
 * P+1, etcd P+2/P+3) --timeout SECONDS (300) --control-plane MAIN.js (another build's, to compare) --json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Service } from '@tide/api';
import { scheduleBatch } from '@tide/scheduler';
import { REPO, waitFor } from '../harness';
import { NodeCredentials, joinAs } from '../node.credentials';
import { HollowNode } from './hollow.agent';
import { ControlPlaneProcess } from './control-plane.process';

const GiB = 2 ** 30;
/** Hollow nodes joining in parallel (each runs openssl for its key and CSR, then one HTTPS call). */
const JOINS_AT_ONCE = 8;
const NODE_CPU = 16_000;
const NODE_MEMORY = 64 * GiB;
/** Requests of the services in turn: a web/cache/worker mix (millicores, MiB). */
const SHAPES = [[250, 512], [500, 1024], [100, 2048], [1000, 1024], [200, 256]];

interface Options {
  nodes: number; replicas: number; services: number; basePort: number; timeoutMs: number; json: boolean;
  /** The control plane to run (default this tree's): another build, to compare versions on one machine. */
  controlPlane: string;
}

function parseOptions(argv: string[]): Options {
  const text = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const number = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const value = Number(argv[index + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} wants a positive integer, got "${argv[index + 1]}"`);
    return value;
  };
  return {
    nodes: number('nodes', 100), replicas: number('replicas', 2000), services: number('services', 10),
    basePort: number('base-port', 19170), timeoutMs: number('timeout', 300) * 1000, json: argv.includes('--json'),
    controlPlane: path.resolve(text('control-plane') ?? path.join(REPO, 'apps/control-plane/dist/main.js')),
  };
}

function services(options: Options): Service[] {
  return Array.from({ length: options.services }, (_, i) => {
    const [cpu, memory] = SHAPES[i % SHAPES.length];
    const replicas = Math.floor(options.replicas / options.services) + (i < options.replicas % options.services ? 1 : 0);
    return {
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: `hollow-${i}`, namespace: 'default' },
      spec: { replicas, image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: `${cpu}m`, memory: `${memory}Mi` } } },
    };
  });
}

/**
 * Hollow nodes configure no network: the pod CIDR only has to hold a /24 per node. The smallest
 * that does (at least a /16), since the allocator walks the free slices on every registration.
 */
function podCidrFor(nodes: number): string {
  const prefix = Math.max(10, Math.min(16, 24 - Math.ceil(Math.log2(nodes))));
  return `100.64.0.0/${prefix}`;
}

/** The library alone on the same nodes and replicas: the reference figure. */
function libraryRate(options: Options, wanted: Service[]): number {
  const nodes = Array.from({ length: options.nodes }, (_, i) => ({
    name: `hollow-${i}`, labels: {}, allocatable: { cpu: NODE_CPU, memory: NODE_MEMORY }, requested: { cpu: 0, memory: 0 }, ready: true, cordoned: false,
  }));
  const pending = wanted.flatMap((s, i) => Array.from({ length: s.spec.replicas }, (_, j) => ({
    namespace: 'default', name: `${s.metadata.name}-${j}`, service: s.metadata.name, cpu: SHAPES[i % SHAPES.length][0], memory: SHAPES[i % SHAPES.length][1] * 2 ** 20,
  })));
  const started = performance.now();
  const result = scheduleBatch(nodes, pending);
  return Math.round(result.bindings.length / ((performance.now() - started) / 1000));
}

/** `agent_failures`: what the agents' failed calls said, the most frequent first (only when some failed). */
function agentFailures(agents: HollowNode[]): { agent_failures?: Record<string, number> } {
  const counts = new Map<string, number>();
  for (const agent of agents) for (const [what, count] of agent.failures) counts.set(what, (counts.get(what) ?? 0) + count);
  if (counts.size === 0) return {};
  return { agent_failures: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 5)) };
}

async function metric(cp: ControlPlaneProcess, name: string): Promise<number> {
  const text = await (await cp.fetch('/metrics')).text();
  return text.split('\n').filter((line) => line.startsWith(name)).reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

async function run(options: Options, cp: ControlPlaneProcess, agents: HollowNode[]): Promise<Record<string, unknown>> {
  cp.start();
  await waitFor('the control plane', () => cp.api('/healthz').then(() => true), 30_000, 100);
  const assignedAt = new Map<string, number>();
  // Every hollow node joins as a real agent does (a join token, a CSR each), before the clock starts.
  const join = await cp.api<{ token: string }>('/api/v1/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'join', uses: options.nodes }) });
  const caPem = fs.readFileSync(path.join(cp.dir, 'pki', 'ca.crt'), 'utf8');
  const names = Array.from({ length: options.nodes }, (_, i) => `hollow-${String(i).padStart(4, '0')}`);
  const credentials: NodeCredentials[] = [];
  for (let i = 0; i < names.length; i += JOINS_AT_ONCE) {
    credentials.push(...await Promise.all(names.slice(i, i + JOINS_AT_ONCE).map((name) => joinAs(cp.server, caPem, join.token, name))));
  }
  const registerStart = performance.now();
  for (let i = 0; i < options.nodes; i++) {
    agents.push(new HollowNode({
      name: names[i], credentials: credentials[i], address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      controlPlane: `127.0.0.1:${options.basePort + 1}`, cpuMillis: NODE_CPU, memoryBytes: NODE_MEMORY,
      images: ['busybox:latest'], onAssigned: (key, at) => assignedAt.has(key) || assignedAt.set(key, at),
    }));
  }
  await Promise.all(agents.map((agent) => agent.start()));
  await waitFor('every node Ready', async () => (await cp.api<{ items: { status?: { ready: boolean } }[] }>('/api/v1/nodes')).items.filter((n) => n.status?.ready).length === options.nodes, 60_000, 200);
  const registerMs = performance.now() - registerStart;
  const wanted = services(options);
  const applied = performance.now();
  const cpuAtApply = cp.cpuMs();
  await cp.api('/api/v1/apply', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ documents: wanted }) });
  await waitFor('every replica assigned', async () => assignedAt.size >= options.replicas, options.timeoutMs, 50)
    .catch((error: Error) => Promise.reject(new Error(`${error.message} (${assignedAt.size} of ${options.replicas})`)));
  const cpuToAllBound = cp.cpuMs() - cpuAtApply;
  const times = [...assignedAt.values()].sort((a, b) => a - b);
  const running = async () => (await cp.api<{ items: Service[] }>('/api/v1/services')).items.reduce((sum, s) => sum + (s.status?.runningReplicas ?? 0), 0);
  await waitFor('every replica Running', async () => (await running()) === options.replicas, options.timeoutMs, 100);
  const runningMs = performance.now() - applied;
  const allBoundMs = times[times.length - 1] - applied;
  return {
    benchmark: 'hollow', nodes: options.nodes, replicas: options.replicas, services: options.services,
    register_all_nodes_ms: Math.round(registerMs),
    apply_to_first_bound_ms: Math.round(times[0] - applied),
    apply_to_all_bound_ms: Math.round(allBoundMs),
    bound_per_sec: Math.round(options.replicas / (allBoundMs / 1000)),
    control_plane_cpu_ms_per_1000_bound: Math.round(cpuToAllBound / (options.replicas / 1000)),
    apply_to_all_running_ms: Math.round(runningMs),
    nodes_used: agents.filter((a) => a.replicaCount > 0).length,
    scheduling_cycles: await metric(cp, 'tide_scheduler_cycle_duration_seconds_count'),
    scheduling_conflicts: await metric(cp, 'tide_scheduler_attempts_total{result="conflict"}'),
    agent_errors: agents.reduce((sum, a) => sum + a.errors, 0),
    ...agentFailures(agents),
    control_plane_rss_mb: cp.peakRssMb(),
    library_placements_per_sec: libraryRate(options, wanted),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(options.controlPlane)) throw new Error(`--control-plane: ${options.controlPlane} does not exist (build first)`);
  const cp = new ControlPlaneProcess(options.basePort, options.controlPlane, ['--id', 'hollow-bench', '--node-lease-seconds', '30', '--pod-cidr', podCidrFor(options.nodes), '--node-cidr-mask-size', '24']);
  const agents: HollowNode[] = [];
  // Interrupted: the control plane and its etcd go too, and the state dir.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cp.stop().finally(() => process.exit(130)));
  }
  try {
    const result = await run(options, cp, agents);
    console.log(options.json ? JSON.stringify(result) : result);
  } catch (error) {
    throw new Error(`${(error as Error).message}\ncontrol plane log:\n${cp.logTail()}`);
  } finally {
    for (const agent of agents) agent.close();
    await cp.stop();
  }
}

main().catch((error) => {
  console.error(`hollow: ${(error as Error).message}`);
  process.exit(1);
});
