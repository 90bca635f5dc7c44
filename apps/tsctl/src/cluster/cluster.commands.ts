/**
 * `tsctl up` and `tsctl down`: a whole local cluster on this machine. Up starts one control plane
 * (which supervises its own etcd) and N node agents in the background, each node with its share of
 * the machine and its own loopback address, and returns once every node is Ready. Down stops the
 * agents, removes their containers, and stops the control plane.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Node, Replica } from '@tide/api';
import { ClusterPki, PkiError, caPin, controlPlaneServerNames, ensureClusterPki, ensureNodeServingCertificate } from '@tide/pki';
import { ApiClient } from '../api/api.client';
import { configPath, writeCliConfig } from '../api/cli.config';
import { UsageError, intOption } from '../cli/args';
import { Command, CommandContext } from '../commands/command';
import { nodesTable } from '../output/resource.tables';
import { ClusterLayout, MAX_LOCAL_NODES, agentArgs, clusterLayout, controlPlaneArgs, imageDirOf } from './cluster.layout';
import { findProcesses, isAlive, portInUse, sleep, startDetached, tail, terminate } from './processes';

export const DEFAULT_STATE_DIR = '/var/lib/tide';
const APPS_DIR = path.resolve(__dirname, '../../..');
const CONTROL_PLANE = { script: 'control-plane/dist/main.js', path: path.join(APPS_DIR, 'control-plane/dist/main.js') };
const NODE_AGENT = { script: 'node-agent/dist/main.js', path: path.join(APPS_DIR, 'node-agent/dist/main.js') };
const STOP_GRACE_MS = 10_000;

export class ClusterError extends Error {}

/** Consolidation flags for the control plane, checked here so that a typo fails before anything starts. */
function consolidationFlags(ctx: CommandContext): string[] {
  const flags: string[] = [];
  const mode = ctx.options.get('consolidation');
  if (mode !== undefined) {
    if (mode !== 'on' && mode !== 'off') throw new UsageError(`--consolidation: expected on or off, got "${mode}"`);
    flags.push('--consolidation', mode);
  }
  const serviceCidr = ctx.options.get('service-cidr');
  if (serviceCidr !== undefined) flags.push('--service-cidr', serviceCidr);
  if (ctx.options.has('consolidation-delay-seconds')) {
    flags.push('--consolidation-delay-seconds', String(intOption(ctx.options, 'consolidation-delay-seconds', 30, 1)));
  }
  return flags;
}

/**
 * The registry flags for the control plane: the embedded registry on P+4 (docs/REFERENCE.md), or
 * `--registry HOST:PORT [--registry-ca FILE]` to use an existing one.
 */
function registryFlags(ctx: CommandContext, layout: ClusterLayout): string[] {
  const external = ctx.options.get('registry');
  const ca = ctx.options.get('registry-ca');
  if (ca !== undefined && external === undefined) throw new UsageError('--registry-ca goes with --registry (the embedded registry uses the cluster CA)');
  if (external === undefined) return ['--registry-listen', layout.registryListen];
  if (ca !== undefined && !fs.existsSync(ca)) throw new UsageError(`--registry-ca: ${ca} does not exist`);
  return ['--registry', external, ...(ca !== undefined ? ['--registry-ca', path.resolve(ca)] : [])];
}

/** The running processes recorded in DIR/cluster.json. */
interface ClusterRecord {
  stateDir: string;
  server: string;
  ports: { http: number; grpc: number; etcdClient: number; etcdPeer: number; registry?: number };
  controlPlane: { pid: number; log: string };
  nodes: { name: string; pid: number; address: string; agentPort: number; stateDir: string; log: string }[];
}

export const upCommand: Command = {
  name: 'up',
  usage: 'tsctl up [--nodes N] [--state-dir DIR] [--base-port P] [--ca-cert FILE --ca-key FILE] [--registry HOST:PORT [--registry-ca FILE]] [--node-grace-seconds S] [--pod-cidr CIDR] [--service-cidr CIDR] [--dns-upstream IP[:PORT],...] [--consolidation on|off] [--consolidation-delay-seconds S] [--timeout SECONDS]',
  summary: 'start a local cluster (control plane with its etcd, N node agents) and wait until it is Ready',
  options: [
    { long: 'nodes', help: `number of nodes, 1 to ${MAX_LOCAL_NODES} (default 2)` },
    { long: 'state-dir', help: `where everything is kept (default ${DEFAULT_STATE_DIR})` },
    { long: 'base-port', help: 'HTTP API port; gRPC P+1, etcd P+2/P+3, agents P+10+i (default 7070)' },
    { long: 'ca-cert', help: 'the cluster CA to use (PEM), instead of making one; with --ca-key' },
    { long: 'ca-key', help: "the CA's private key (PEM, mode 0600)" },
    { long: 'node-grace-seconds', help: "how long a NotReady node's replicas wait before they are replaced" },
    { long: 'pod-cidr', help: 'the container network, a /24 of it per node (default 100.64.0.0/16)' },
    { long: 'service-cidr', help: "the services' virtual IPs (default 100.96.0.0/16)" },
    { long: 'dns-upstream', help: "where the nodes' DNS forwards names outside the cluster (default: the host's /etc/resolv.conf)" },
    { long: 'consolidation', help: 'on|off: move replicas off lightly used nodes so that nodes become empty (default on)' },
    { long: 'consolidation-delay-seconds', help: 'how long a node must stay worth emptying before consolidation starts (default 30)' },
    { long: 'timeout', help: 'seconds to wait for the cluster to be Ready (default 120)' },
    { long: 'registry', help: 'use this registry (HOST:PORT) instead of starting the embedded one on P+4' },
    { long: 'registry-ca', help: "with --registry: the CA file that verifies it (default: the system's roots)" },
    { long: 'image-stores', help: 'shared|per-node: one image store for the local nodes, or one each as on separate machines (default shared)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const stateDir = stateDirOf(ctx);
    // Running `tsctl up` again on an existing cluster keeps its size and ports unless told otherwise.
    const previous = readClusterRecord(stateDir);
    const basePort = intOption(ctx.options, 'base-port', previous?.ports.http ?? 7070, 1024, 65000);
    const nodeCount = intOption(ctx.options, 'nodes', previous?.nodes.length || 2, 1, MAX_LOCAL_NODES);
    const imageStores = ctx.options.get('image-stores') ?? 'shared';
    if (imageStores !== 'shared' && imageStores !== 'per-node') throw new UsageError(`--image-stores: "${imageStores}" is not shared or per-node`);
    const layout = clusterLayout(stateDir, basePort, nodeCount, { cpuMillis: os.cpus().length * 1000, memoryBytes: os.totalmem() }, imageStores);
    const grace = ctx.options.has('node-grace-seconds') ? intOption(ctx.options, 'node-grace-seconds', 30, 1) : undefined;
    const deadline = Date.now() + intOption(ctx.options, 'timeout', 120, 1) * 1000;
    for (const built of [CONTROL_PLANE, NODE_AGENT]) {
      if (!fs.existsSync(built.path)) throw new ClusterError(`${built.path} is missing: build first (bash scripts/build.sh)`);
    }
    fs.mkdirSync(layout.stateDir, { recursive: true });
    const pki = await ensurePki(ctx, layout);
    await ensureAgentCertificates(layout, pki);
    const started: string[] = [];
    const controlPlanePid = await ensureControlPlane(layout, controlPlaneArgs(layout, grace, ctx.options.get('pod-cidr'), [...consolidationFlags(ctx), ...registryFlags(ctx, layout)]), started);
    // tsctl up acts as the control plane's own identity (its client certificate, admin-equivalent) until the admin token exists.
    const api = new ApiClient({
      server: layout.server, ca: pki.ca.certificatePem,
      clientCertificate: { cert: fs.readFileSync(pki.layout.clientCertificate, 'utf8'), key: fs.readFileSync(pki.layout.clientKey, 'utf8') },
    });
    await waitUntil('the control plane to answer /healthz', deadline, [{ pid: controlPlanePid, what: 'the control plane', log: layout.controlPlaneLog }],
      async () => (await api.fetch('GET', '/healthz')).ok);
    const join = await joinTokenFor(api, layout, pki);
    const dnsUpstream = ctx.options.get('dns-upstream');
    const agentFlags = [...(join?.args ?? []), ...(dnsUpstream !== undefined ? ['--dns-upstream', dnsUpstream] : [])];
    const agents = layout.nodes.map((node) => ({ node, pid: ensureAgent(layout, node, started, agentFlags) }));
    writeClusterRecord(layout, controlPlanePid, agents.map((a) => a.pid));
    const watched = [{ pid: controlPlanePid, what: 'the control plane', log: layout.controlPlaneLog }, ...agents.map(({ node, pid }) => ({ pid, what: `the agent of ${node.name}`, log: node.log }))];
    // A node whose agent was just started must have registered since: etcd may still say Ready from before.
    const freshSince = Date.now() - 1000;
    await waitUntil(`${layout.nodes.length} Ready node(s)`, deadline, watched, async () => {
      const nodes = (await api.get<{ items: Node[] }>('/api/v1/nodes')).items;
      return layout.nodes.every((want) => nodes.some((n) => n.metadata.name === want.name && n.status?.ready
        && (!started.includes(want.name) || Date.parse(n.status.lastHeartbeat ?? '') >= freshSince)));
    });
    // The nodes have their certificates: the join token has served (it also expires in 10 minutes).
    if (join) await api.request('DELETE', `/api/v1/tokens/${join.id}`).catch(() => undefined);
    const token = await adminToken(ctx, api, layout.server, pki.ca.certificatePem);
    writeCliConfig({ server: layout.server, ca: pki.ca.certificatePem, token, stateDir: layout.stateDir });
    ctx.out(started.length === 0 ? `the cluster in ${layout.stateDir} is already running (API ${layout.server})` : `cluster up: API ${layout.server}, state in ${layout.stateDir} (started ${started.join(', ')})`);
    const nodes = (await api.get<{ items: Node[] }>('/api/v1/nodes')).items.filter((n) => layout.nodes.some((l) => l.name === n.metadata.name));
    const replicas = (await api.get<{ items: Replica[] }>('/api/v1/replicas?namespace=all')).items;
    ctx.out(nodesTable(nodes, replicas, { wide: false, withNamespace: false }));
  },
};

/** The cluster's certificates under STATE/pki (made once, kept while good): the control plane's names are this machine's. */
async function ensurePki(ctx: CommandContext, layout: ClusterLayout): Promise<ClusterPki> {
  const cert = ctx.options.get('ca-cert');
  const key = ctx.options.get('ca-key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--ca-cert and --ca-key go together: give both, or neither to let tsctl make a CA');
  const external = cert !== undefined && key !== undefined ? { certificate: path.resolve(cert), key: path.resolve(key) } : undefined;
  const [listenHost] = layout.httpListen.split(':');
  const pki = await ensureClusterPki({
    dir: layout.pkiDir, serverNames: controlPlaneServerNames(os.hostname(), [listenHost]), ...(external ? { externalCa: external } : {}),
  }).catch((error: unknown) => {
    throw error instanceof PkiError ? new ClusterError(error.message) : error;
  });
  if (pki.actions.ca !== 'kept') ctx.note(`cluster CA ${pki.actions.ca}: ${pki.layout.caCertificate}`);
  return pki;
}

/** Each agent's HTTPS certificate (for its address, CN system:node:NAME) and the CA, in NODE_STATE/pki, where the agent looks by default. */
async function ensureAgentCertificates(layout: ClusterLayout, pki: ClusterPki): Promise<void> {
  for (const node of layout.nodes) {
    await ensureNodeServingCertificate({ nodeStateDir: node.stateDir, nodeName: node.name, addresses: [node.address], ca: pki.ca });
  }
}

/**
 * The admin token of the credential file: the one already there if it still works on this cluster
 * (running `tsctl up` again makes no new one), else a new one made with the control plane's identity.
 */
async function adminToken(ctx: CommandContext, system: ApiClient, server: string, ca: string): Promise<string> {
  const { token } = ctx.config;
  if (token && ctx.config.server === server && ctx.config.ca === ca) {
    const current = new ApiClient({ server, ca, token });
    const works = await current.get('/api/v1/tokens').then(() => true, () => false);
    await current.close();
    if (works) return token;
  }
  const made = await system.request<{ token: string; record: { id: string } }>('POST', '/api/v1/tokens', {
    role: 'admin', description: `tsctl up by ${os.userInfo().username}@${os.hostname()}`,
  });
  ctx.note(`admin token ${made.record.id} written to ${configPath()} (mode 0600)`);
  return made.token;
}

function stateDirOf(ctx: CommandContext, fallback = DEFAULT_STATE_DIR): string {
  return path.resolve(ctx.options.get('state-dir') ?? fallback);
}

async function ensureControlPlane(layout: ClusterLayout, args: string[], started: string[]): Promise<number> {
  const [running] = findProcesses(CONTROL_PLANE.script, layout.stateDir);
  if (running) return running;
  const ports = [layout.basePort, layout.basePort + 1, layout.basePort + 2, layout.basePort + 3, ...(args.includes('--registry-listen') ? [layout.registryPort] : [])];
  for (const port of ports) {
    if (await portInUse('127.0.0.1', port)) {
      throw new ClusterError(`port ${port} is already in use (another cluster, from another --state-dir?); stop it or choose --base-port (this cluster needs ${ports.join(', ')})`);
    }
  }
  started.push('control plane');
  return startDetached(CONTROL_PLANE.path, args, layout.controlPlaneLog);
}

interface JoinFlags {
  id: string;
  args: string[];
}

/**
 * Nodes join the way a node on another machine does (`node-agent --join … --ca-hash …`): one join
 * token for the agents that have no certificate yet, good for that many joins and 10 minutes, revoked
 * once they are Ready. An agent that has its certificate (a restart) ignores it.
 */
async function joinTokenFor(api: ApiClient, layout: ClusterLayout, pki: ClusterPki): Promise<JoinFlags | undefined> {
  const joining = layout.nodes.filter((node) => !fs.existsSync(path.join(node.stateDir, 'pki', 'node.crt')));
  if (joining.length === 0) return undefined;
  const made = await api.request<{ token: string; record: { id: string } }>('POST', '/api/v1/tokens', {
    kind: 'join', ttl: '10m', uses: joining.length, description: `tsctl up: ${joining.map((n) => n.name).join(', ')}`,
  });
  return { id: made.record.id, args: ['--join', made.token, '--ca-hash', caPin(pki.ca.certificatePem)] };
}

function ensureAgent(layout: ClusterLayout, node: ClusterLayout['nodes'][number], started: string[], agentFlags: string[]): number {
  const [running] = findProcesses(NODE_AGENT.script, node.stateDir);
  if (running) return running;
  started.push(node.name);
  return startDetached(NODE_AGENT.path, [...agentArgs(layout, node), ...agentFlags], node.log);
}

function readClusterRecord(stateDir: string): ClusterRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'cluster.json'), 'utf8')) as ClusterRecord;
  } catch {
    return undefined; // a new cluster
  }
}

function writeClusterRecord(layout: ClusterLayout, controlPlanePid: number, agentPids: number[]): void {
  const record: ClusterRecord = {
    stateDir: layout.stateDir, server: layout.server,
    ports: { http: layout.basePort, grpc: layout.basePort + 1, etcdClient: layout.etcdPort, etcdPeer: layout.etcdPort + 1, registry: layout.registryPort },
    controlPlane: { pid: controlPlanePid, log: layout.controlPlaneLog },
    nodes: layout.nodes.map((n, i) => ({ name: n.name, pid: agentPids[i], address: n.address, agentPort: n.agentPort, stateDir: n.stateDir, log: n.log })),
  };
  fs.writeFileSync(path.join(layout.stateDir, 'cluster.json'), `${JSON.stringify(record, null, 2)}\n`);
}

interface Watched {
  pid: number;
  what: string;
  log: string;
}

/** Polls until probe() is true; fails early, with the log's tail, if a process it needs exits. */
async function waitUntil(what: string, deadline: number, watched: Watched[], probe: () => Promise<boolean>): Promise<void> {
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    const dead = watched.find((w) => !isAlive(w.pid));
    if (dead) throw new ClusterError(`${dead.what} exited while waiting for ${what}; see ${dead.log}:\n${tail(dead.log)}`);
    await sleep(250);
  }
  throw new ClusterError(`timed out waiting for ${what}; see the logs: ${watched.map((w) => w.log).join(', ')}`);
}

export const downCommand: Command = {
  name: 'down',
  usage: 'tsctl down [--state-dir DIR] [--purge]',
  summary: 'stop the local cluster: agents, their containers, the control plane (--purge also removes DIR)',
  options: [
    { long: 'state-dir', help: `the cluster's state dir (default: the one tsctl up used last, else ${DEFAULT_STATE_DIR})` },
    { long: 'purge', boolean: true, help: 'also remove the state dir (etcd data, images, logs)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const stateDir = stateDirOf(ctx, ctx.config.stateDir ?? DEFAULT_STATE_DIR);
    if (!fs.existsSync(stateDir)) return ctx.out(`no cluster state in ${stateDir}: nothing to stop`);
    const agents = findProcesses(NODE_AGENT.script, stateDir);
    await terminate(agents, STOP_GRACE_MS);
    const cleaned = cleanupNodes(stateDir, ctx);
    await terminate(findProcesses(CONTROL_PLANE.script, stateDir), STOP_GRACE_MS);
    // The control plane stops its etcd and registry; an etcd or registry left behind by a crashed control plane is stopped here.
    await terminate(findProcesses('etcd', stateDir), STOP_GRACE_MS);
    await terminate(findProcesses('docker-registry', stateDir), STOP_GRACE_MS);
    const purge = ctx.options.has('purge');
    if (purge) fs.rmSync(stateDir, { recursive: true, force: true });
    ctx.out(`cluster in ${stateDir} stopped: ${agents.length} agent(s), containers of ${cleaned} node(s) removed${purge ? ', state removed' : ''}`);
  },
};

/** `node-agent cleanup` for every node state dir: stops and removes the containers the agents left. */
function cleanupNodes(stateDir: string, ctx: CommandContext): number {
  const nodesDir = path.join(stateDir, 'nodes');
  const nodes = fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir) : [];
  for (const node of nodes) {
    const own = imageDirOf(stateDir, node, 'per-node');
    const imageDir = fs.existsSync(own) ? own : imageDirOf(stateDir, node, 'shared');
    const result = spawnSync(process.execPath, [NODE_AGENT.path, 'cleanup', '--state-dir', path.join(nodesDir, node), '--image-dir', imageDir], {
      encoding: 'utf8', timeout: 60_000,
    });
    if (result.status !== 0) ctx.note(`warning: cleaning up the containers of ${node} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  }
  return nodes.length;
}

