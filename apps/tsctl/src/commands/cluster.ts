/**
 * `tsctl up` and `tsctl down`: a whole local cluster on this machine. Up starts a control plane
 * (which supervises its own etcd) and N node agents in the background, each node with its share of
 * the machine and its own loopback address, and returns once every node is Ready.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Node } from '@tide/api';
import { UsageError, intFlag } from '../args';
import { ApiClient, configPath } from '../client';
import { nodesTable } from '../format';
import { CommandContext } from './resources';

const APPS = path.resolve(__dirname, '../../..');
const CONTROL_PLANE = path.join(APPS, 'control-plane/dist/main.js');
const NODE_AGENT = path.join(APPS, 'node-agent/dist/main.js');

interface ClusterLayout {
  stateDir: string;
  basePort: number;
  nodes: number;
  server: string;
}

function layout(ctx: CommandContext): ClusterLayout {
  const stateDir = path.resolve(ctx.flags.get('state-dir') ?? '/var/lib/tide');
  const basePort = intFlag(ctx.flags, 'base-port', 7070, 1024);
  if (basePort > 65000) throw new UsageError('--base-port must leave room for the ports above it (≤ 65000)');
  const nodes = intFlag(ctx.flags, 'nodes', 2, 1);
  if (nodes > 50) throw new UsageError('--nodes: at most 50 local nodes');
  return { stateDir, basePort, nodes, server: `http://127.0.0.1:${basePort}` };
}

/** Processes of this cluster: found by their command line, so restarted ones are found too. */
export function clusterProcesses(stateDir: string, script: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.endsWith(script)) && args.some((a) => a === stateDir || a.startsWith(`${stateDir}/`))) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function startDetached(script: string, args: string[], logFile: string): number {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [script, ...args], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  child.unref();
  return child.pid!;
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>, logs: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; see ${logs.join(', ')}`);
}

export async function up(ctx: CommandContext): Promise<void> {
  const c = layout(ctx);
  fs.mkdirSync(c.stateDir, { recursive: true });
  const api = new ApiClient(c.server);
  const running = clusterProcesses(c.stateDir, 'control-plane/dist/main.js').length > 0;
  const cpLog = path.join(c.stateDir, 'control-plane.log');
  if (running) {
    ctx.out(`a cluster is already running from ${c.stateDir}`);
  } else {
    startDetached(CONTROL_PLANE, [
      '--listen', `127.0.0.1:${c.basePort}`, '--grpc-listen', `127.0.0.1:${c.basePort + 1}`,
      '--etcd-port', String(c.basePort + 2), '--state-dir', path.join(c.stateDir, 'control-plane'),
      '--node-grace-seconds', String(intFlag(ctx.flags, 'node-grace-seconds', 30, 1)),
    ], cpLog);
  }
  await waitFor('the control plane', 60_000, async () => (await api.fetch('GET', '/healthz')).ok, [cpLog]);
  const logs = [cpLog];
  for (let i = 1; i <= c.nodes; i++) {
    const name = `node-${i}`;
    const nodeDir = path.join(c.stateDir, 'nodes', name);
    const log = path.join(c.stateDir, `${name}.log`);
    logs.push(log);
    if (clusterProcesses(nodeDir, 'node-agent/dist/main.js').length > 0) continue;
    startDetached(NODE_AGENT, [
      '--name', name, '--control-plane', `127.0.0.1:${c.basePort + 1}`, '--address', `127.0.1.${i}`,
      '--port', String(c.basePort + 10 + i), '--state-dir', nodeDir, '--image-dir', path.join(c.stateDir, 'images'),
      '--cpu', String(Math.floor((os.cpus().length * 1000) / c.nodes)), '--memory', String(Math.floor(os.totalmem() / c.nodes)),
    ], log);
  }
  fs.writeFileSync(path.join(c.stateDir, 'cluster.json'), JSON.stringify(c, null, 2));
  await waitFor(`${c.nodes} Ready nodes`, 90_000, async () => {
    const nodes = (await api.request<{ items: Node[] }>('GET', '/api/v1/nodes')).items;
    return nodes.filter((n) => n.status?.ready).length >= c.nodes;
  }, logs);
  fs.mkdirSync(path.dirname(configPath()), { recursive: true });
  fs.writeFileSync(configPath(), JSON.stringify({ server: c.server, stateDir: c.stateDir }, null, 2));
  const nodes = (await api.request<{ items: Node[] }>('GET', '/api/v1/nodes')).items;
  ctx.out(`cluster up: API ${c.server}, state in ${c.stateDir}`);
  ctx.out(nodesTable(nodes, [], false));
}

async function terminate(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
}

function alive(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/State:\s+Z/.test(status);
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* gone */
  }
}

export async function down(ctx: CommandContext): Promise<void> {
  const stateDir = path.resolve(ctx.flags.get('state-dir') ?? savedStateDir() ?? '/var/lib/tide');
  if (!fs.existsSync(stateDir)) throw new UsageError(`no cluster state in ${stateDir}`);
  await terminate(clusterProcesses(stateDir, 'node-agent/dist/main.js'), 10_000);
  const nodesDir = path.join(stateDir, 'nodes');
  for (const node of fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir) : []) {
    const result = spawnSync(process.execPath, [NODE_AGENT, 'cleanup', '--state-dir', path.join(nodesDir, node), '--image-dir', path.join(stateDir, 'images')], { encoding: 'utf8' });
    if (result.status !== 0) ctx.out(`warning: cleaning up ${node} failed: ${result.stderr.trim()}`);
  }
  await terminate(clusterProcesses(stateDir, 'control-plane/dist/main.js'), 15_000);
  // The control plane stops its etcd; an etcd left by a crashed control plane is stopped here.
  await terminate(clusterProcesses(stateDir, 'etcd'), 10_000);
  if (ctx.flags.has('purge')) fs.rmSync(stateDir, { recursive: true, force: true });
  ctx.out(`cluster in ${stateDir} stopped${ctx.flags.has('purge') ? ' and its state removed' : ''}`);
}

function savedStateDir(): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(configPath(), 'utf8')) as { stateDir?: string }).stateDir;
  } catch {
    return undefined;
  }
}
