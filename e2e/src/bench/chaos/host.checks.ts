/**
 * What the chaos suite reads from the machine itself, not from the API: the containers that run on
 * each node (a state file whose process lives), and what a node holds for containers no replica
 * wants any more. Layout of a node's state dir (docs/REFERENCE.md, node agent): containers/<id>/
 * (state.json with pid, pidStartTime and network.hostVeth), network/addresses/<ip> (the id holding
 * it); cgroups /sys/fs/cgroup/<controller>/tide/<id>; a container's id is `<namespace>.<replica>`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountsMentioning } from '../../harness';

export interface ContainerOnNode {
  node: string;
  id: string;
  pid: number;
  hostVeth?: string;
}

interface StateFile {
  pid: number;
  pidStartTime: number;
  network?: { hostVeth?: string };
}

/** Containers whose recorded process still runs (the same process: its start time matches), on every node. */
export function liveContainers(stateDir: string, nodes: string[]): ContainerOnNode[] {
  return nodes.flatMap((node) => containerIds(stateDir, node).flatMap((id) => {
    const state = readJson<StateFile>(path.join(stateDir, 'nodes', node, 'containers', id, 'state.json'));
    if (!state || processStartTime(state.pid) !== state.pidStartTime) return [];
    return [{ node, id, pid: state.pid, hostVeth: state.network?.hostVeth }];
  }));
}

/** Replica identities with a live container on more than one node at once. */
export function duplicateIds(live: ContainerOnNode[]): string[] {
  const nodesOf = new Map<string, Set<string>>();
  for (const c of live) nodesOf.set(c.id, (nodesOf.get(c.id) ?? new Set()).add(c.node));
  return [...nodesOf].filter(([, nodes]) => nodes.size > 1).map(([id]) => id);
}

/**
 * What a node holds for a container id no replica bound to that node has: `wanted` maps node →
 * the ids of the replicas bound to it (any phase). `prefixes`: the ids this run made (other clusters
 * on the machine share /sys/fs/cgroup/<controller>/tide). `bridges`: the nodes' bridges.
 */
export function leftovers(stateDir: string, wanted: Map<string, Set<string>>, prefixes: string[], bridges: string[]): string[] {
  const ours = (id: string) => prefixes.some((prefix) => id.startsWith(prefix));
  const everywhere = new Set([...wanted.values()].flatMap((ids) => [...ids]));
  const found: string[] = [];
  const liveVeths = new Set<string>();
  for (const [node, ids] of wanted) {
    for (const id of containerIds(stateDir, node)) {
      if (!ids.has(id)) found.push(`directory ${node}/containers/${id}`);
      else {
        const veth = readJson<StateFile>(path.join(stateDir, 'nodes', node, 'containers', id, 'state.json'))?.network?.hostVeth;
        if (veth) liveVeths.add(veth);
      }
    }
    for (const [ip, id] of addresses(stateDir, node)) if (!ids.has(id)) found.push(`address ${ip} of ${node} held by ${id}`);
    for (const mount of mountsMentioning(path.join(stateDir, 'nodes', node, 'containers'))) {
      const id = /\/containers\/([^/\s]+)/.exec(mount)?.[1];
      if (id && !ids.has(id)) found.push(`mount ${mount.split(' ')[1]}`);
    }
  }
  for (const group of containerCgroups().filter((g) => ours(path.basename(g)) && !everywhere.has(path.basename(g)))) {
    found.push(`cgroup ${group}`);
    for (const pid of processesIn(group)) found.push(`process ${pid} in ${group}`);
  }
  for (const veth of bridgeVeths(bridges)) if (!liveVeths.has(veth)) found.push(`veth ${veth}`);
  return found;
}

export function containerIds(stateDir: string, node: string): string[] {
  const dir = path.join(stateDir, 'nodes', node, 'containers');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.includes('.')) : [];
}

function addresses(stateDir: string, node: string): [string, string][] {
  const dir = path.join(stateDir, 'nodes', node, 'network', 'addresses');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name)).flatMap((ip) => {
    try {
      return [[ip, fs.readFileSync(path.join(dir, ip), 'utf8').trim()] as [string, string]];
    } catch {
      return [];
    }
  });
}

/** Container groups in every v1 controller (tide/<id>) and in the v2 hierarchy. */
function containerCgroups(): string[] {
  const roots = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup/tide']
    : fs.readdirSync('/sys/fs/cgroup').map((controller) => path.join('/sys/fs/cgroup', controller, 'tide'));
  return roots.filter((root) => fs.existsSync(root)).flatMap((root) =>
    fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.includes('.')).map((e) => path.join(root, e.name)));
}

function processesIn(group: string): number[] {
  return (readText(path.join(group, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
}

/** The host ends of the veths on the nodes' bridges. */
function bridgeVeths(bridges: string[]): string[] {
  return bridges.flatMap((bridge) => spawnSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' }).stdout
    .split('\n').filter(Boolean).map((line) => /^\d+:\s+([^@:\s]+)/.exec(line)?.[1]).filter((name): name is string => !!name));
}

/** Field 22 of /proc/PID/stat, as the runtime records it; undefined once the process is gone. */
function processStartTime(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat || /^\d+ \(.*\) Z /.test(stat)) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

function readJson<T>(file: string): T | undefined {
  const text = readText(file);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
