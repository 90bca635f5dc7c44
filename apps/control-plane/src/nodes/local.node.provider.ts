/**
 * A NodeProvider that makes nodes on this machine in the loopback layout of `tsctl up` (contract,
 * docs/REFERENCE.md): node i at 127.0.1.i with its agent on P+10+i and its state in
 * STATE/nodes/NAME, so `tsctl down` stops and cleans it like the others. A node is an agent process
 * started detached, joining with a join token bound to its name (single use, 10 minutes) as any
 * node does; deleting it stops the agent and removes the containers it left (`node-agent cleanup`).
 * What it made is kept in STATE/control-plane/node-pool.json, so a restarted control plane knows it.
 * The simulated hosts of the netns layout can take this place behind the same interface: only
 * `startAgent`/`stopAgent` differ.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodePool, NodeProvider, NodeProviderError, ProvidedNode, nodePoolErrors } from '@tide/control';

/** Where the node agent's entry point is, from this file's place in apps/control-plane/dist. */
const AGENT_SCRIPT = path.resolve(__dirname, '../../../node-agent/dist/main.js');
const STOP_GRACE_MS = 10_000;

export interface LocalNodesOptions {
  /** The cluster's state dir (`tsctl up --state-dir`): nodes/, images/ and the record live under it. */
  stateDir: string;
  /** The API's port P: agents listen on P+10+i. */
  basePort: number;
  /** The control plane's gRPC address the agents join. */
  grpcListen: string;
  /** A join token bound to the node's name, and the CA pin the agent checks. */
  joinToken(node: string): Promise<{ token: string; caHash: string }>;
  log(line: string): void;
  now?: () => number;
  /** The agent's entry point (default: the built node agent beside this app; a stand-in in tests). */
  agentScript?: string;
}

interface MadeNode extends ProvidedNode {
  index: number;
  pid: number;
}

export class LocalNodeProvider implements NodeProvider {
  private readonly recordFile: string;
  private readonly now: () => number;
  private readonly agentScript: string;

  constructor(private readonly options: LocalNodesOptions) {
    this.recordFile = path.join(options.stateDir, 'control-plane', 'node-pool.json');
    this.now = options.now ?? Date.now;
    this.agentScript = options.agentScript ?? AGENT_SCRIPT;
  }

  async create(pool: NodePool): Promise<ProvidedNode> {
    const errors = nodePoolErrors(pool);
    if (errors.length > 0) throw new NodeProviderError(errors.join('; '));
    const made = this.read();
    if (made.filter((n) => n.pool === pool.name).length >= pool.maxNodes) throw new NodeProviderError(`pool ${pool.name} is at its maxNodes (${pool.maxNodes})`);
    const index = this.nextIndex(made);
    const name = `${pool.name}-${index}`;
    const { token, caHash } = await this.options.joinToken(name);
    const pid = this.startAgent(pool, name, index, token, caHash);
    const node: MadeNode = { name, pool: pool.name, createdAtMs: this.now(), index, pid };
    this.write([...made, node]);
    this.options.log(`node pool ${pool.name}: started ${name} (agent pid ${pid}, 127.0.1.${index}:${this.options.basePort + 10 + index})`);
    return { name, pool: pool.name, createdAtMs: node.createdAtMs };
  }

  async delete(name: string): Promise<void> {
    const made = this.read();
    const node = made.find((n) => n.name === name);
    if (!node) throw new NodeProviderError(`no node ${name} made by this provider`);
    await this.stopAgent(node);
    this.write(made.filter((n) => n !== node));
    this.options.log(`node pool ${node.pool}: stopped ${name} and removed its containers`);
  }

  /** An agent gone on its own (killed, or stopped by `tsctl down`) no longer counts: its node is not coming. */
  async list(pool?: string): Promise<ProvidedNode[]> {
    return this.read().filter((n) => (pool === undefined || n.pool === pool) && isAgent(n.pid, n.name, this.nodeDir(n.name)))
      .map(({ name, pool: of, createdAtMs }) => ({ name, pool: of, createdAtMs }));
  }

  /** After the nodes `tsctl up` made (node-1 … node-N) and every index this provider holds. */
  private nextIndex(made: MadeNode[]): number {
    const nodesDir = path.join(this.options.stateDir, 'nodes');
    const fixed = fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir).filter((d) => /^node-\d+$/.test(d)).map((d) => Number(d.slice(5))) : [];
    const index = Math.max(0, ...fixed, ...made.map((n) => n.index)) + 1;
    if (index > 250) throw new NodeProviderError('no loopback address left for a new node (127.0.1.1-250 in use)');
    return index;
  }

  private startAgent(pool: NodePool, name: string, index: number, token: string, caHash: string): number {
    const stateDir = path.join(this.options.stateDir, 'nodes', name);
    const labels = Object.entries({ ...pool.template.labels, 'tide.io/pool': pool.name }).map(([k, v]) => `${k}=${v}`).join(',');
    const capacity = capacityFor(pool.template);
    const args = [
      this.agentScript, '--name', name, '--control-plane', this.options.grpcListen, '--address', `127.0.1.${index}`,
      '--port', String(this.options.basePort + 10 + index), '--state-dir', stateDir, '--image-dir', path.join(this.options.stateDir, 'images'),
      '--cpu', String(capacity.cpu), '--memory', String(capacity.memory), '--labels', labels, '--ca-hash', caHash,
    ];
    const log = fs.openSync(path.join(this.options.stateDir, `${name}.log`), 'a');
    try {
      // The token through the environment (the agent removes it there), not the command line any local user reads.
      const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, TIDE_JOIN_TOKEN: token } });
      child.unref();
      if (child.pid === undefined) throw new NodeProviderError(`cannot start the agent of ${name}: see ${this.options.stateDir}/${name}.log`);
      return child.pid;
    } finally {
      fs.closeSync(log);
    }
  }

  private nodeDir(name: string): string {
    return path.join(this.options.stateDir, 'nodes', name);
  }

  /**
   * SIGTERM to the node's reaper (the process started), which passes it to the agent; the reaper
   * exits once the agent has and no container is left in its care, so `node-agent cleanup` then
   * removes the containers left; SIGKILL if the reaper is still there after the grace.
   */
  private async stopAgent(node: MadeNode): Promise<void> {
    const stateDir = this.nodeDir(node.name);
    const alive = () => isAgent(node.pid, node.name, stateDir);
    signal(node.pid, 'SIGTERM');
    await this.waitGone(alive, STOP_GRACE_MS);
    const code = await run(process.execPath, [this.agentScript, 'cleanup', '--state-dir', stateDir, '--image-dir', path.join(this.options.stateDir, 'images')]);
    if (code !== 0) this.options.log(`node pool ${node.pool}: cleaning up the containers of ${node.name} failed (exit ${code}); tsctl down retries it`);
    await this.waitGone(alive, STOP_GRACE_MS);
    if (alive()) signal(node.pid, 'SIGKILL');
  }

  private async waitGone(alive: () => boolean, ms: number): Promise<void> {
    const deadline = this.now() + ms;
    while (alive() && this.now() < deadline) await sleep(100);
  }

  private read(): MadeNode[] {
    try {
      return (JSON.parse(fs.readFileSync(this.recordFile, 'utf8')) as { nodes: MadeNode[] }).nodes;
    } catch {
      return [];
    }
  }

  private write(nodes: MadeNode[]): void {
    fs.mkdirSync(path.dirname(this.recordFile), { recursive: true });
    fs.writeFileSync(`${this.recordFile}.tmp`, `${JSON.stringify({ nodes }, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(`${this.recordFile}.tmp`, this.recordFile);
  }
}

/**
 * The capacity to give an agent so that what it reports as allocatable is the template's: the agent
 * keeps back min(100m, a tenth) of CPU and min(128 MiB, a tenth) of memory (node-agent allocatableOf).
 */
export function capacityFor(template: { cpu: number; memory: number }): { cpu: number; memory: number } {
  const cpu = template.cpu >= 900 ? template.cpu + 100 : Math.ceil(template.cpu / 0.9);
  const mib128 = 128 * 2 ** 20;
  const memory = template.memory >= 9 * mib128 ? template.memory + mib128 : Math.ceil(template.memory / 0.9);
  return { cpu, memory };
}

/**
 * The pid is still that node's agent process (not a pid reused by something else): the agent's
 * command line names the node, its reaper's (renamed `node-agent-reaper STATE_DIR`) the node's state dir.
 */
function isAgent(pid: number, name: string, stateDir: string): boolean {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    return (args.includes(name) || args.includes(stateDir)) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    /* gone already */
  }
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
