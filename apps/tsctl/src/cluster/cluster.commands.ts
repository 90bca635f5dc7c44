/**
 * `tsctl up` and `tsctl down`: a whole local cluster on this machine. Up starts one control plane
 * (which supervises its own etcd) and N node agents in the background, each node with its share of
 * the machine and its own address (a loopback one, or a simulated host's with `--hosts netns`), and
 * returns once every node is Ready. Down stops the agents, removes their containers and simulated
 * hosts, and stops the control plane.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cidr, Node, Replica, cidrContains, formatCidr, parseCidr } from '@tide/api';
import { parseTtl } from '@tide/auth';
import { ClusterPki, PkiError, caPin, controlPlaneServerNames, ensureClusterPki, ensureNodeServingCertificate } from '@tide/pki';
import { ApiClient } from '../api/api.client';
import { configPath, writeCliConfig } from '../api/cli.config';
import { UsageError, intOption } from '../cli/args';
import { Command, CommandContext } from '../commands/command';
import { ensureDockerServe, stopDockerServe } from '../docker/docker.process';
import { parseTcpAddress } from '../docker/docker.tls';
import { nodesTable } from '../output/resource.tables';
import { ClusterLayout, HOSTS_MODES, HostsMode, MAX_LOCAL_NODES, agentArgs, clusterLayout, controlPlaneArgs, imageDirOf } from './cluster.layout';
import { ClusterRecord, readClusterRecord, writeClusterRecord } from './cluster.record';
import { findProcesses, isAlive, portInUse, sleep, startDetached, tail, terminate } from './processes';
import { DEFAULT_HOST_CIDR, endHostProcesses, ensureHost, ensureLan, hostCommand, removeSimulatedHosts } from './simulated.hosts';

export const DEFAULT_STATE_DIR = '/var/lib/tide';
const APPS_DIR = path.resolve(__dirname, '../../..');
const CONTROL_PLANE = { script: 'control-plane/dist/main.js', path: path.join(APPS_DIR, 'control-plane/dist/main.js') };
const NODE_AGENT = { script: 'node-agent/dist/main.js', path: path.join(APPS_DIR, 'node-agent/dist/main.js') };
const STOP_GRACE_MS = 10_000;

export class ClusterError extends Error {}

/** `--certificate-validity`: the lifetime of every certificate of the cluster but the CA's (checked here, used by both processes). */
function certificateValidity(ctx: CommandContext): { ms?: number; flags: string[] } {
  const text = ctx.options.get('certificate-validity');
  if (text === undefined) return { flags: [] };
  const parsed = parseTtl(text, '--certificate-validity');
  if (!parsed.ok) throw new UsageError(parsed.reason);
  return { ms: parsed.value, flags: ['--certificate-validity', text, '--node-certificate-validity', text] };
}

/** `--etcd-members N` (supervised members on P+2/+3, P+5/+6, P+7/+8) with `--etcd-quota-bytes N`, or `--etcd URLS` (an existing cluster), passed to the control plane. */
function etcdFlags(ctx: CommandContext): string[] {
  const members = ctx.options.get('etcd-members');
  const external = ctx.options.get('etcd');
  if (members !== undefined && external !== undefined) throw new UsageError('--etcd-members and --etcd exclude each other: supervised members, or an existing cluster');
  if (members !== undefined && !['1', '3'].includes(members)) throw new UsageError(`--etcd-members: expected 1 or 3, got "${members}"`);
  const quota = ctx.options.get('etcd-quota-bytes');
  if (quota !== undefined && external !== undefined) throw new UsageError('--etcd-quota-bytes is for the supervised etcd: set the quota of an existing one (--etcd) on its members');
  if (quota !== undefined && !/^[1-9]\d*$/.test(quota)) throw new UsageError(`--etcd-quota-bytes: expected a positive number of bytes, got "${quota}"`);
  const quotaFlags = quota !== undefined ? ['--etcd-quota-bytes', quota] : [];
  if (members !== undefined) return ['--etcd-members', members, ...quotaFlags];
  return external !== undefined ? ['--etcd', external] : quotaFlags;
}

/** Consolidation flags for the control plane, checked here so that a typo fails before anything starts. */
/** `--node-pool`: the control plane's node autoscaler makes and removes nodes of this machine (its local provider) in this cluster's layout. */
function nodePoolFlags(ctx: CommandContext, layout: ClusterLayout): string[] {
  const pool = ctx.options.get('node-pool');
  if (pool === undefined) {
    for (const flag of ['node-scale-down-delay-seconds', 'node-lead-seconds']) if (ctx.options.has(flag)) throw new UsageError(`--${flag} goes with --node-pool`);
    return [];
  }
  // The local provider starts agents in the loopback layout; simulated hosts (netns) and other machines need a provider of their own.
  if (ctx.options.get('hosts') === 'netns' || ctx.options.has('address')) throw new UsageError('--node-pool: its nodes are loopback nodes of this machine: not with --hosts netns or --address (yet)');
  const delay = ctx.options.has('node-scale-down-delay-seconds') ? ['--node-scale-down-delay-seconds', String(intOption(ctx.options, 'node-scale-down-delay-seconds', 60, 0))] : [];
  const lead = ctx.options.has('node-lead-seconds') ? ['--node-lead-seconds', String(intOption(ctx.options, 'node-lead-seconds', 60, 0))] : [];
  return ['--node-pool', pool, '--local-nodes', layout.stateDir, ...delay, ...lead];
}

function consolidationFlags(ctx: CommandContext): string[] {
  const flags: string[] = [];
  const mode = ctx.options.get('consolidation');
  if (mode !== undefined) {
    if (mode !== 'on' && mode !== 'off') throw new UsageError(`--consolidation: expected on or off, got "${mode}"`);
    flags.push('--consolidation', mode);
  }
  for (const passed of ['service-cidr', 'node-cidr-mask-size', 'pod-network']) {
    const value = ctx.options.get(passed);
    if (value !== undefined) flags.push(`--${passed}`, value);
  }
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

export const upCommand: Command = {
  name: 'up',
  usage: 'tsctl up [--nodes N] [--state-dir DIR] [--base-port P] [--ca-cert FILE --ca-key FILE] [--registry HOST:PORT [--registry-ca FILE]] [--hosts loopback|netns [--host-cidr CIDR]] [--address IP] [--node-grace-seconds S] [--pod-cidr CIDR] [--node-cidr-mask-size N] [--pod-network host-gw|vxlan] [--service-cidr CIDR] [--dns-upstream IP[:PORT],...] [--consolidation on|off] [--consolidation-delay-seconds S] [--certificate-validity DURATION] [--etcd-members 1|3 [--etcd-quota-bytes N] | --etcd URL,URL] [--docker [--docker-tcp HOST:PORT]] [--node-pool SPEC [--node-scale-down-delay-seconds S] [--node-lead-seconds S]] [--timeout SECONDS]',
  summary: 'start a local cluster (control plane with its etcd, N node agents) and wait until it is Ready',
  options: [
    { long: 'nodes', help: `number of nodes, 1 to ${MAX_LOCAL_NODES} (default 2)` },
    { long: 'state-dir', help: `where everything is kept (default ${DEFAULT_STATE_DIR})` },
    { long: 'base-port', help: 'HTTP API port; gRPC P+1, etcd P+2/P+3, agents P+10+i (default 7070)' },
    { long: 'ca-cert', help: 'the cluster CA to use (PEM), instead of making one; with --ca-key' },
    { long: 'ca-key', help: "the CA's private key (PEM, mode 0600)" },
    { long: 'node-grace-seconds', help: "how long a NotReady node whose host does not answer either keeps its replicas before they are replaced (default 2)" },
    { long: 'hosts', help: 'loopback: nodes at 127.0.1.i sharing this machine\'s network (default); netns: each node a simulated host in its own network namespace on a test LAN' },
    { long: 'address', help: "this machine's routable address, for a cluster across machines: the control plane (and the one local node of --nodes 0|1) listen there; other machines join with tsctl token create --join" },
    { long: 'host-cidr', help: `with --hosts netns: the test LAN; the control plane takes its first address, host i the (i+1)-th (default ${DEFAULT_HOST_CIDR})` },
    { long: 'pod-cidr', help: 'the container network, a slice of it per node (default 100.64.0.0/16)' },
    { long: 'node-cidr-mask-size', help: "the prefix length of each node's slice (default 22: 1,021 containers per node)" },
    { long: 'pod-network', help: "host-gw: routes via the nodes' addresses (default); vxlan: an overlay of kernel VXLAN tunnels" },
    { long: 'service-cidr', help: "the services' virtual IPs (default 100.96.0.0/16)" },
    { long: 'dns-upstream', help: "where the nodes' DNS forwards names outside the cluster (default: the host's /etc/resolv.conf)" },
    { long: 'consolidation', help: 'on|off: move replicas off lightly used nodes so that nodes become empty (default on)' },
    { long: 'consolidation-delay-seconds', help: 'how long a node must stay worth emptying before consolidation starts (default 30)' },
    { long: 'certificate-validity', help: "lifetime of the cluster's certificates but the CA's (default 1 year); each is renewed at two thirds of it without a restart" },
    { long: 'node-pool', help: 'name=NAME,min=N,max=N,cpu=Q,memory=Q: nodes the node autoscaler adds on this machine when replicas find no room, and removes once empty' },
    { long: 'node-scale-down-delay-seconds', help: 'with --node-pool: how long a node of the pool stays empty before it is removed (default 60)' },
    { long: 'node-lead-seconds', help: 'with --node-pool: how far ahead nodes are made for scheduled floors and forecasts (default 60)' },
    { long: 'timeout', help: 'seconds to wait for the cluster to be Ready (default 120)' },
    { long: 'etcd-members', help: 'etcd members the control plane supervises, 1 or 3 (peer TLS; members on P+2/+3, P+5/+6, P+7/+8; default 1)' },
    { long: 'etcd-quota-bytes', help: "the supervised etcd's backend quota in bytes (default etcd's 2 GiB): beyond it etcd raises NOSPACE and writes get 507" },
    { long: 'etcd', help: 'use this etcd cluster (https URLs, comma separated; PKI/etcd certificates unless the control plane is told others) instead of supervising one' },
    { long: 'registry', help: 'use this registry (HOST:PORT) instead of starting the embedded one on P+4' },
    { long: 'registry-ca', help: "with --registry: the CA file that verifies it (default: the system's roots)" },
    { long: 'image-stores', help: 'shared|per-node: one image store for the local nodes, or one each as on separate machines (default shared)' },
    { long: 'docker', boolean: true, help: 'also serve the Docker Engine API on STATE/docker.sock (tsctl docker-serve; DOCKER_HOST=$(tsctl docker-host))' },
    { long: 'docker-tcp', help: 'HOST:PORT: with --docker, serve it on TCP too, with mutual TLS of the cluster CA (clients: eval "$(tsctl docker-host --tcp HOST:PORT)")' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const stateDir = stateDirOf(ctx);
    if (ctx.options.has('docker-tcp')) {
      if (!ctx.options.has('docker')) throw new UsageError('--docker-tcp goes with --docker (the Docker API it also serves on TCP)');
      parseTcpAddress(ctx.options.get('docker-tcp')!, '--docker-tcp');
    }
    // Running `tsctl up` again on an existing cluster keeps its size and ports unless told otherwise.
    const previous = readClusterRecord(stateDir);
    const basePort = intOption(ctx.options, 'base-port', previous?.ports.http ?? 7070, 1024, 65000);
    const address = addressOf(ctx, previous);
    // With --address the other nodes join from their machines: this one runs at most one.
    const nodeCount = intOption(ctx.options, 'nodes', previous?.nodes.length ?? (address ? 1 : 2), address ? 0 : 1, address ? 1 : MAX_LOCAL_NODES);
    const imageStores = ctx.options.get('image-stores') ?? previous?.imageStores ?? 'shared';
    if (imageStores !== 'shared' && imageStores !== 'per-node') throw new UsageError(`--image-stores: "${imageStores}" is not shared or per-node`);
    const layout = clusterLayout(stateDir, basePort, nodeCount, { cpuMillis: os.cpus().length * 1000, memoryBytes: os.totalmem() }, {
      hosts: hostsOf(ctx, previous), address, imageStores,
    });
    const grace = ctx.options.has('node-grace-seconds') ? intOption(ctx.options, 'node-grace-seconds', 2, 0) : undefined;
    const deadline = Date.now() + intOption(ctx.options, 'timeout', 120, 1) * 1000;
    for (const built of [CONTROL_PLANE, NODE_AGENT]) {
      if (!fs.existsSync(built.path)) throw new ClusterError(`${built.path} is missing: build first (bash scripts/build.sh)`);
    }
    fs.mkdirSync(layout.stateDir, { recursive: true });
    // The LAN first: the control plane listens on its address.
    if (layout.lan) {
      ensureLan(layout.lan);
      for (const host of layout.lan.hosts) ensureHost(layout.lan, host);
    }
    const validity = certificateValidity(ctx);
    const pki = await ensurePki(ctx, layout, validity.ms);
    await ensureAgentCertificates(layout, pki, validity.ms);
    const started: string[] = [];
    const controlPlaneFlags = [...consolidationFlags(ctx), ...registryFlags(ctx, layout), ...etcdFlags(ctx), ...nodePoolFlags(ctx, layout), ...validity.flags];
    const controlPlanePid = await ensureControlPlane(layout, controlPlaneArgs(layout, grace, ctx.options.get('pod-cidr'), controlPlaneFlags), started);
    // tsctl up acts as the control plane's own identity (its client certificate, admin-equivalent) until the admin token exists.
    const api = new ApiClient({
      server: layout.server, ca: pki.ca.certificatePem,
      clientCertificate: { cert: fs.readFileSync(pki.layout.clientCertificate, 'utf8'), key: fs.readFileSync(pki.layout.clientKey, 'utf8') },
    });
    await waitUntil('the control plane to answer /healthz', deadline, [{ pid: controlPlanePid, what: 'the control plane', log: layout.controlPlaneLog }],
      async () => (await api.fetch('GET', '/healthz')).ok);
    const join = await joinTokenFor(api, layout, pki);
    const dnsUpstream = ctx.options.get('dns-upstream');
    const agentFlags = dnsUpstream !== undefined ? ['--dns-upstream', dnsUpstream] : [];
    const agents = layout.nodes.map((node) => {
      const argv = [...agentArgs(layout, node), ...agentFlags];
      return { node, argv, pid: ensureAgent(node, started, argv, join) };
    });
    writeClusterRecord(layout, controlPlanePid, agents);
    const watched = [{ pid: controlPlanePid, what: 'the control plane', log: layout.controlPlaneLog }, ...agents.map(({ node, pid }) => ({ pid, what: `the agent of ${node.name}`, log: node.log }))];
    // A node whose agent was just started must have registered since: etcd may still say Ready from before.
    const freshSince = Date.now() - 1000;
    await waitUntil(`${layout.nodes.length} Ready node(s)`, deadline, watched, async () => {
      const nodes = (await api.get<{ items: Node[] }>('/api/v1/nodes')).items;
      return layout.nodes.every((want) => nodes.some((n) => n.metadata.name === want.name && n.status?.ready
        && (!started.includes(want.name) || Date.parse(n.status.lastHeartbeat ?? '') >= freshSince)));
    });
    // The process started is each node's reaper; the record names the agents themselves (its children,
    // found by their command line: the reaper renamed its own), whose pid tests and tools signal.
    writeClusterRecord(layout, controlPlanePid, agents.map(({ node, pid, argv }) => ({ pid: findProcesses(NODE_AGENT.script, node.stateDir)[0] ?? pid, argv })));
    // The nodes have their certificates: the join token has served (it also expires in 10 minutes).
    if (join) await api.request('DELETE', `/api/v1/tokens/${join.id}`).catch(() => undefined);
    const token = await adminToken(ctx, api, layout.server, pki.ca.certificatePem);
    writeCliConfig({ server: layout.server, ca: pki.ca.certificatePem, token, stateDir: layout.stateDir });
    if (ctx.options.has('docker')) {
      const docker = await ensureDockerServe(layout.stateDir, configPath(), ctx.options.get('docker-tcp')).catch((error: Error) => { throw new ClusterError(error.message); });
      if (docker.started) started.push('the Docker API');
    }
    ctx.out(started.length === 0 ? `the cluster in ${layout.stateDir} is already running (API ${layout.server})` : `cluster up: API ${layout.server}, state in ${layout.stateDir} (started ${started.join(', ')})`);
    const nodes = (await api.get<{ items: Node[] }>('/api/v1/nodes')).items.filter((n) => layout.nodes.some((l) => l.name === n.metadata.name));
    const replicas = (await api.get<{ items: Replica[] }>('/api/v1/replicas?namespace=all')).items;
    ctx.out(nodesTable(nodes, replicas, { wide: false, withNamespace: false }));
  },
};

/** The cluster's certificates under STATE/pki (made once, kept while good): the control plane's names are this machine's. */
async function ensurePki(ctx: CommandContext, layout: ClusterLayout, validityMs: number | undefined): Promise<ClusterPki> {
  const cert = ctx.options.get('ca-cert');
  const key = ctx.options.get('ca-key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--ca-cert and --ca-key go together: give both, or neither to let tsctl make a CA');
  const external = cert !== undefined && key !== undefined ? { certificate: path.resolve(cert), key: path.resolve(key) } : undefined;
  const [listenHost] = layout.httpListen.split(':');
  const pki = await ensureClusterPki({
    dir: layout.pkiDir, serverNames: controlPlaneServerNames(os.hostname(), [listenHost]), ...(external ? { externalCa: external } : {}), validityMs,
  }).catch((error: unknown) => {
    throw error instanceof PkiError ? new ClusterError(error.message) : error;
  });
  if (pki.actions.ca !== 'kept') ctx.note(`cluster CA ${pki.actions.ca}: ${pki.layout.caCertificate}`);
  return pki;
}

/** Each agent's HTTPS certificate (for its address, CN system:node:NAME) and the CA, in NODE_STATE/pki, where the agent looks by default. */
async function ensureAgentCertificates(layout: ClusterLayout, pki: ClusterPki, validityMs: number | undefined): Promise<void> {
  for (const node of layout.nodes) {
    await ensureNodeServingCertificate({ nodeStateDir: node.stateDir, nodeName: node.name, addresses: [node.address], ca: pki.ca, validityMs });
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
  const [host] = layout.httpListen.split(':');
  for (const port of ports) {
    if (await portInUse(host, port)) {
      throw new ClusterError(`port ${port} is already in use (another cluster, from another --state-dir?); stop it or choose --base-port (this cluster needs ${ports.join(', ')})`);
    }
  }
  started.push('control plane');
  return startDetached([process.execPath, CONTROL_PLANE.path, ...args], layout.controlPlaneLog);
}

interface JoinFlags {
  id: string;
  /** Handed to the agents in their environment ($TIDE_JOIN_TOKEN), not as a flag: a flag stays in the process list. */
  token: string;
  args: string[];
}

/** The node agent's variable for a join token (apps/node-agent agent.config.ts). */
const JOIN_TOKEN_ENV = 'TIDE_JOIN_TOKEN';

/**
 * Nodes join the way a node on another machine does (a join token and `--ca-hash …`): one join
 * token for the agents that have no certificate yet, good for that many joins and 10 minutes, revoked
 * once they are Ready. An agent that has its certificate (a restart) ignores it.
 */
async function joinTokenFor(api: ApiClient, layout: ClusterLayout, pki: ClusterPki): Promise<JoinFlags | undefined> {
  const joining = layout.nodes.filter((node) => !fs.existsSync(path.join(node.stateDir, 'pki', 'node.crt')));
  if (joining.length === 0) return undefined;
  const made = await api.request<{ token: string; record: { id: string } }>('POST', '/api/v1/tokens', {
    kind: 'join', ttl: '10m', uses: joining.length, description: `tsctl up: ${joining.map((n) => n.name).join(', ')}`,
  });
  return { id: made.record.id, token: made.token, args: ['--ca-hash', caPin(pki.ca.certificatePem)] };
}

/** `argv`: the agent's flags; `join` only for this start (a restart has its certificate): its token goes in the environment. */
export function ensureAgent(node: ClusterLayout['nodes'][number], started: string[], argv: string[], join?: JoinFlags): number {
  const [running] = findProcesses(NODE_AGENT.script, node.stateDir);
  if (running) return running;
  started.push(node.name);
  const command = [process.execPath, NODE_AGENT.path, ...argv, ...(join?.args ?? [])];
  return startDetached(node.host ? hostCommand(node.host, command) : command, node.log, join ? { [JOIN_TOKEN_ENV]: join.token } : {});
}

/** `--address IP` (this machine's, for a cluster across machines), else the one the cluster was started with. */
function addressOf(ctx: CommandContext, previous: ClusterRecord | undefined): string | undefined {
  const address = ctx.options.get('address') ?? previous?.hosts?.address;
  if (address === undefined) return undefined;
  if (ctx.options.get('hosts') === 'netns' || previous?.hosts?.mode === 'netns') throw new UsageError('--address is for a cluster across machines: simulated hosts (--hosts netns) have their own LAN');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.startsWith('127.')) throw new UsageError(`--address: expected an IPv4 address of this machine that the other machines reach, got "${address}"`);
  if (!Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === address))) {
    throw new UsageError(`--address ${address} is not an address of this machine (see ip addr)`);
  }
  return address;
}

/** `--hosts` and `--host-cidr`, else what the cluster was started with: the simulated hosts' LAN, or undefined for loopback nodes. */
function hostsOf(ctx: CommandContext, previous: ClusterRecord | undefined): { cidr: string } | undefined {
  const mode = ctx.options.get('hosts') ?? previous?.hosts?.mode ?? 'loopback';
  if (!(HOSTS_MODES as readonly string[]).includes(mode)) throw new UsageError(`--hosts: expected ${HOSTS_MODES.join(' or ')}, got "${mode}"`);
  const cidr = ctx.options.get('host-cidr');
  if ((mode as HostsMode) === 'loopback') {
    if (cidr !== undefined) throw new UsageError('--host-cidr goes with --hosts netns');
    return undefined;
  }
  return { cidr: checkedHostCidr(cidr ?? previous?.hosts?.cidr ?? DEFAULT_HOST_CIDR) };
}

/**
 * Simulated hosts take addresses of the benchmarking range (198.18.0.0/15, RFC 2544) only: any
 * other range may be a real network this machine reaches, whose addresses the LAN would shadow.
 */
function checkedHostCidr(text: string): string {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text);
  } catch (error) {
    throw new UsageError(`--host-cidr: ${(error as Error).message}`);
  }
  const benchmarking = parseCidr('198.18.0.0/15');
  if (cidr.prefix < benchmarking.prefix || !cidrContains(benchmarking, cidr.network)) {
    throw new UsageError(`--host-cidr: ${text} is outside the benchmarking range 198.18.0.0/15, which simulated hosts keep to (e.g. 198.18.7.0/24)`);
  }
  return formatCidr(cidr);
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
    if (!fs.existsSync(stateDir)) {
      // Simulated hosts are found by the state dir's name: a cluster whose dir was removed may have left some.
      const removed = await removeHosts(stateDir, undefined, ctx);
      return ctx.out(`no cluster state in ${stateDir}: nothing to stop${removed > 0 ? `; ${removed} simulated host device(s) left behind removed` : ''}`);
    }
    await stopDockerServe(stateDir, STOP_GRACE_MS);
    const stop = async (pids: number[]) => {
      const left = await terminate(pids, STOP_GRACE_MS);
      if (left.length > 0) ctx.note(`warning: still there after SIGKILL, left to the kernel: ${left.join(', ')}`);
    };
    const agents = findProcesses(NODE_AGENT.script, stateDir);
    await stop(agents);
    const record = readClusterRecord(stateDir);
    const cleaned = cleanupNodes(stateDir, ctx, record);
    await stop(findProcesses(CONTROL_PLANE.script, stateDir));
    // The control plane stops its etcd and registry; an etcd or registry left behind by a crashed control plane is stopped here.
    await stop(findProcesses('etcd', stateDir));
    await stop(findProcesses('docker-registry', stateDir));
    const hosts = await removeHosts(stateDir, record, ctx);
    const purge = ctx.options.has('purge');
    if (purge) fs.rmSync(stateDir, { recursive: true, force: true });
    ctx.out(`cluster in ${stateDir} stopped: ${agents.length} agent(s), containers of ${cleaned} node(s) removed${hosts > 0 ? `, ${hosts} simulated host device(s) removed` : ''}${purge ? ', state removed' : ''}`);
  },
};

/**
 * `node-agent cleanup` for every node state dir: stops and removes the containers the agents left.
 * A simulated host's runs inside its namespace, where its bridge and rules are.
 */
function cleanupNodes(stateDir: string, ctx: CommandContext, record: ClusterRecord | undefined): number {
  const nodesDir = path.join(stateDir, 'nodes');
  const nodes = fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir) : [];
  const lan = record?.hosts?.mode === 'netns' ? clusterLayoutOf(record).lan : undefined;
  for (const node of nodes) {
    const own = imageDirOf(stateDir, node, 'per-node');
    const imageDir = fs.existsSync(own) ? own : imageDirOf(stateDir, node, 'shared');
    const command = [process.execPath, NODE_AGENT.path, 'cleanup', '--state-dir', path.join(nodesDir, node), '--image-dir', imageDir];
    const host = lan?.hosts.find((h) => h.node === node);
    const argv = host && fs.existsSync(`/run/netns/${host.netns}`) ? ['ip', 'netns', 'exec', host.netns, ...command] : command;
    const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) ctx.note(`warning: cleaning up the containers of ${node} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  }
  return nodes.length;
}

/** The layout a record was made from (the machine's share per node does not matter here). */
export function clusterLayoutOf(record: ClusterRecord): ClusterLayout {
  const hosts = record.hosts?.mode === 'netns' ? { cidr: record.hosts.cidr ?? DEFAULT_HOST_CIDR } : undefined;
  return clusterLayout(record.stateDir, record.ports.http, record.nodes.length, { cpuMillis: 1000, memoryBytes: 1 }, { hosts, imageStores: record.imageStores ?? 'shared' });
}

/** The simulated hosts' namespaces, LAN and freezer groups; any process still in a host (a container the cleanup missed) ends first. */
async function removeHosts(stateDir: string, record: ClusterRecord | undefined, ctx: CommandContext): Promise<number> {
  for (const host of record?.hosts?.mode === 'netns' ? clusterLayoutOf(record).lan?.hosts ?? [] : []) {
    await endHostProcesses(host).catch((error: Error) => ctx.note(`warning: ${error.message}`));
  }
  try {
    return removeSimulatedHosts(stateDir).length;
  } catch (error) {
    ctx.note(`warning: removing the simulated hosts of ${stateDir} failed: ${(error as Error).message}`);
    return 0;
  }
}
