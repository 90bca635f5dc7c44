/**
 * disk-full: a node's state directory on a filesystem that fills up. The node's agent is moved onto
 * a small tmpfs (stopped with its containers, its state copied over, started again), the tmpfs is
 * filled to the last byte for 20 s, then freed, and the node is moved back. What must hold while it
 * is full: the agent keeps running (its /healthz answers), its state files stay whole (each parses),
 * the node reports DiskPressure and gets no new replica, and it clears once space is back.
 * Moving the node stops its replicas twice (as a node restart would): takesServingReplicas.
 * Shaped as the chaos suite's ChaosScenario: one line in scenarios.ts runs it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Node, Replica } from '@tide/api';
import { AgentProcess } from '../../agent.process';
import { TestCluster, isAlive, pidsMentioning, running, waitFor } from '../../harness';

const FULL_MS = 20_000;
const TMPFS_SIZE = '128m';
const STATE_FILES = ['replicas.json', 'cluster.json', 'network.json'];

export type DiskFullFigures = {
  pressure_reported_s: number;
  pressure_cleared_s: number;
  placed_under_pressure: number;
  agent_healthz_failures: number;
  state_files_torn: number;
  /** From the space freed to the node moved back onto its own disk (the scenario's own restart of it). */
  moved_back_s?: number;
};

export interface DiskFullContext {
  cluster: TestCluster;
  log(line: string): void;
}

export const diskFull = {
  name: 'disk-full',
  fault: 'a node\'s state directory on a 128 MiB tmpfs, filled to the last byte for 20 s',
  takesServingReplicas: true,
  needs: {},
  async inject({ cluster, log }: DiskFullContext): Promise<{ faultOverAt: number; figures: DiskFullFigures }> {
    return fillNodeState(cluster, 'node-2', log);
  },
};

/** The whole fault on `node`: moved onto a tmpfs, filled, freed, moved back. */
export async function fillNodeState(cluster: TestCluster, node: string, log: (line: string) => void): Promise<{ faultOverAt: number; figures: DiskFullFigures }> {
  const agent = new AgentProcess(cluster, node);
  const dir = agent.stateDir;
  try {
    await moveState(agent, () => execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tide-disk-full', dir]),
      ['--eviction-pressure-transition-period', '5s', '--disk-check-interval', '1s']);
    await nodeServing(cluster, node);
    log(`disk-full: ${node} runs on a ${TMPFS_SIZE} tmpfs; filling it`);
    const filledAt = performance.now();
    fill(path.join(dir, 'filler'));
    const figures = await whileFull(cluster, node, dir, filledAt);
    fs.rmSync(path.join(dir, 'filler'));
    const freedAt = performance.now();
    await waitFor('DiskPressure cleared', async () => !pressureOf(await nodeNamed(cluster, node)) || undefined, 120_000);
    figures.pressure_cleared_s = seconds(freedAt);
    log(`disk-full: ${JSON.stringify(figures)}; moving ${node} back`);
    await moveState(agent, () => execFileSync('umount', [dir]), []);
    // The fault is over once the node is back on its own disk: the move is the scenario's apparatus
    // (a node restart with its containers removed), and recovery counts from its end. How long the
    // node took to recover from the full disk itself is pressure_cleared_s.
    figures.moved_back_s = seconds(freedAt);
    return { faultOverAt: performance.now(), figures };
  } finally {
    if (isMounted(dir)) execFileSync('umount', ['-l', dir]); // a failure midway leaves no mount behind
  }
}

/** 20 s of a full disk, measured every half second. */
async function whileFull(cluster: TestCluster, node: string, dir: string, filledAt: number): Promise<DiskFullFigures> {
  const figures: DiskFullFigures = { pressure_reported_s: -1, pressure_cleared_s: -1, placed_under_pressure: 0, agent_healthz_failures: 0, state_files_torn: 0 };
  const target = await nodeNamed(cluster, node);
  /** The node's replicas when the pressure was first seen; any other bound to it while it holds was placed under pressure. */
  let before: Set<string> | undefined;
  const placed = new Set<string>();
  while (performance.now() - filledAt < FULL_MS) {
    const now = await nodeNamed(cluster, node);
    const bound = (await cluster.replicas()).filter((r) => r.spec.nodeName === node).map((r) => r.metadata.name);
    if (!before && pressureOf(now)) {
      before = new Set(bound);
      figures.pressure_reported_s = seconds(filledAt);
    }
    if (before && pressureOf(now)) for (const name of bound) if (!before.has(name)) placed.add(name);
    const healthy = await cluster.agentFetch(target, '/healthz', { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false);
    if (!healthy) figures.agent_healthz_failures++;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  figures.state_files_torn = STATE_FILES.filter((file) => torn(path.join(dir, file))).length;
  figures.placed_under_pressure = placed.size;
  return figures;
}

/**
 * Stops the node (agent killed, its containers removed by `node-agent cleanup`, its reaper gone),
 * swaps what is under its state dir by `swap` with the state carried over, and starts it again.
 */
async function moveState(agent: AgentProcess, swap: () => void, flags: string[]): Promise<void> {
  const dir = agent.stateDir;
  await agent.kill();
  execFileSync(process.execPath, [agent.argv[1], 'cleanup', '--state-dir', dir], { stdio: 'ignore' });
  await waitFor('the node\'s reaper gone', async () => !pidsMentioning(`node-agent-reaper ${dir}`).some(isAlive) || undefined, 60_000);
  const carried = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-disk-full-'));
  try {
    execFileSync('cp', ['-a', `${dir}/.`, carried]);
    swap();
    fs.chmodSync(dir, 0o700);
    execFileSync('cp', ['-a', `${carried}/.`, dir]);
  } finally {
    fs.rmSync(carried, { recursive: true, force: true });
  }
  agent.start({ flags, logName: `disk-full-${path.basename(dir)}.log` });
}

/**
 * The restarted agent answering its /healthz (the Node may still say Ready from before the restart),
 * the node Ready and every replica bound to it running.
 */
async function nodeServing(cluster: TestCluster, node: string): Promise<void> {
  await waitFor(`${node} serving again`, async () => {
    const target = await nodeNamed(cluster, node);
    if (!(await cluster.agentFetch(target, '/healthz', { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false))) return undefined;
    const replicas: Replica[] = (await cluster.replicas()).filter((r) => r.spec.nodeName === node && r.status?.phase !== 'Succeeded' && r.status?.phase !== 'Failed');
    return (target.status?.ready && running(replicas).length === replicas.length) || undefined;
  }, 180_000);
}

/** Writes 1 MiB chunks until the filesystem answers ENOSPC: then it is full. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w', 0o600);
  const chunk = Buffer.alloc(1 << 20, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(fd);
  }
  // What a chunk could not take: the last bytes, one at a time (tmpfs has pages to give still).
  const tail = fs.openSync(file, 'a');
  try {
    for (;;) fs.writeSync(tail, Buffer.alloc(4096, 1));
  } catch {
    /* full */
  } finally {
    fs.closeSync(tail);
  }
}

function torn(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    JSON.parse(fs.readFileSync(file, 'utf8'));
    return false;
  } catch {
    return true;
  }
}

async function nodeNamed(cluster: TestCluster, name: string): Promise<Node> {
  const node = (await cluster.nodeList()).find((n) => n.metadata.name === name);
  if (!node) throw new Error(`no node ${name}`);
  return node;
}

function pressureOf(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'DiskPressure');
}

function isMounted(dir: string): boolean {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === dir);
}

function seconds(since: number): number {
  return Number(((performance.now() - since) / 1000).toFixed(2));
}
