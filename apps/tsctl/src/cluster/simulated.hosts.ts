/**
 * Simulated hosts (`tsctl up --hosts netns`): each node agent in a network namespace of its own, on a
 * test LAN that is a bridge in the machine's namespace, as the tests of Kubernetes network plugins
 * do. The machine's side of the LAN holds the first address (the control plane, etcd's clients and
 * the registry listen there); host i holds the (i+1)-th. Every name is derived from the state dir,
 * so clusters of different state dirs never share a device, and `tsctl down` finds them all again
 * even without the cluster record.
 *
 * A host's processes (its agent, and every container the agent starts, which inherit it) run in a
 * cgroup v1 freezer group of their own: `tsctl host kill` freezes the group, kills every process in
 * it and thaws it, so they all end at once as on a power cut, and takes the host's LAN link down, so
 * that its address stops answering instead of refusing connections.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addressAt, bridgeMacFor, cidrSize, formatIPv4, parseCidr } from '@tide/api';

export const DEFAULT_HOST_CIDR = '198.18.0.0/24';
const FREEZER_ROOT = '/sys/fs/cgroup/freezer';

export class HostsError extends Error {}

export interface SimulatedHost {
  node: string;
  netns: string;
  /** The machine's end of the host's veth pair, a port of the LAN bridge. */
  rootVeth: string;
  address: string;
}

export interface SimulatedLan {
  /** The LAN bridge in the machine's namespace. */
  bridge: string;
  cidr: string;
  /** The machine's address on the LAN: the control plane's. */
  gateway: string;
  prefix: number;
  hosts: SimulatedHost[];
}

function hashOf(stateDir: string): string {
  return createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 8);
}

/** Names for the LAN and its hosts: "tl" + 8 hex digits for the bridge, + "n" + i for the veths (≤ 13 characters). */
export function simulatedLan(stateDir: string, cidrText: string, nodes: string[]): SimulatedLan {
  const cidr = parseCidr(cidrText);
  if (cidrSize(cidr) < nodes.length + 3) throw new HostsError(`--host-cidr ${cidrText} has too few addresses for ${nodes.length} hosts and the control plane`);
  const hash = hashOf(stateDir);
  const bridge = `tl${hash}`;
  return {
    bridge, cidr: cidrText, gateway: formatIPv4(addressAt(cidr, 1)), prefix: cidr.prefix,
    hosts: nodes.map((node, i) => ({ node, netns: `tide-${hash}-${node}`, rootVeth: `${bridge}n${i + 1}`, address: formatIPv4(addressAt(cidr, i + 2)) })),
  };
}

function run(tool: string, args: string[], input?: string): string {
  const result = spawnSync(tool, args, { encoding: 'utf8', input, timeout: 30_000 });
  if (result.error) throw new HostsError(`${tool}: ${result.error.message} (simulated hosts need Debian's iproute2 and iptables)`);
  if (result.status !== 0) throw new HostsError(`${tool} ${args.join(' ')} failed: ${(result.stderr || result.stdout).trim()}${input ? `\n${input}` : ''}`);
  return result.stdout;
}

const linkExists = (name: string) => fs.existsSync(`/sys/class/net/${name}`);
const netnsExists = (name: string) => fs.existsSync(`/run/netns/${name}`);

/** The comment of the LAN's iptables rules, so that `tsctl down` finds them. */
const lanTag = (lan: SimulatedLan) => `tide-lan:${lan.bridge}`;
const forwardRules = (lan: SimulatedLan) => [['-i', lan.bridge], ['-o', lan.bridge]].map((match) => [...match, '-m', 'comment', '--comment', lanTag(lan), '-j', 'ACCEPT']);

/** The bridge with the machine's address, and forwarding accepted across it (a FORWARD policy of DROP, as Docker sets, would cut the hosts apart). */
export function ensureLan(lan: SimulatedLan): void {
  const holder = run('ip', ['-4', '-o', 'addr', 'show']).split('\n').find((line) => line.includes(` inet ${lan.gateway}/`) && !line.includes(` ${lan.bridge} `));
  if (holder) {
    throw new HostsError(`the LAN address ${lan.gateway} is on ${holder.split(/\s+/)[1]} already (another cluster of simulated hosts, or a leftover of one?): `
      + 'give this cluster another --host-cidr, or stop the other with tsctl down --state-dir ITS-DIR');
  }
  const batch: string[] = [];
  if (!linkExists(lan.bridge)) batch.push(`link add ${lan.bridge} type bridge`, `addr add ${lan.gateway}/${lan.prefix} dev ${lan.bridge}`);
  // A fixed address, or the LAN's would change as hosts leave and the others' ARP entries go stale (bridgeMacFor).
  batch.push(`link set ${lan.bridge} address ${bridgeMacFor(lan.bridge)}`, `link set ${lan.bridge} up`);
  run('ip', ['-batch', '-'], `${batch.join('\n')}\n`);
  for (const rule of forwardRules(lan)) {
    if (spawnSync('iptables', ['-w', '-C', 'FORWARD', ...rule]).status !== 0) run('iptables', ['-w', '-I', 'FORWARD', ...rule]);
  }
}

/** The host's namespace, its veth on the LAN with its address, and loopback up. */
export function ensureHost(lan: SimulatedLan, host: SimulatedHost): void {
  if (!netnsExists(host.netns)) run('ip', ['netns', 'add', host.netns]);
  if (!linkExists(host.rootVeth)) run('ip', ['link', 'add', host.rootVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns]);
  run('ip', ['link', 'set', host.rootVeth, 'master', lan.bridge, 'up']);
  const inside = run('ip', ['-n', host.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  const batch = inside.includes(` ${host.address}/`) ? [] : [`addr add ${host.address}/${lan.prefix} dev eth0`];
  run('ip', ['-n', host.netns, '-batch', '-'], `${[...batch, 'link set eth0 up', 'link set lo up'].join('\n')}\n`);
}

/** The freezer group of a host's processes, when this machine has cgroup v1's freezer. */
function freezerGroup(host: SimulatedHost): string | undefined {
  return fs.existsSync(FREEZER_ROOT) ? path.join(FREEZER_ROOT, 'tide-hosts', host.netns) : undefined;
}

/**
 * The command that starts `argv` inside the host: in its freezer group (the shell moves itself in,
 * then execs, so not one process of the host runs outside it) and in its namespace (`ip netns exec`,
 * which also mounts a sysfs of the namespace, where the agent looks for its links).
 */
export function hostCommand(host: SimulatedHost, argv: string[]): string[] {
  const inNetns = ['ip', 'netns', 'exec', host.netns, ...argv];
  const group = freezerGroup(host);
  if (!group) return inNetns;
  fs.mkdirSync(group, { recursive: true });
  return ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, ...inNetns];
}

/** Whether the host's link to the LAN is up (a killed host's is down until `tsctl host start`). */
export function setHostLink(host: SimulatedHost, up: boolean): void {
  if (linkExists(host.rootVeth)) run('ip', ['link', 'set', host.rootVeth, up ? 'up' : 'down']);
}

function pidsOf(group: string): number[] {
  try {
    return fs.readFileSync(path.join(group, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every process of the host ends at once (a power cut), and its address stops answering; resolves with how many processes there were. */
export async function killHost(host: SimulatedHost): Promise<number> {
  const group = freezerGroup(host);
  if (!group || !fs.existsSync(group)) throw new HostsError(`${host.node} has no freezer group ${group ?? `under ${FREEZER_ROOT}`}: was it started by tsctl up --hosts netns on a machine with cgroup v1's freezer?`);
  setHostLink(host, false);
  return endHostProcesses(host);
}

/** Freeze, SIGKILL every process, thaw: none runs a step more, nor forks past the kill. 0 when the host has no group. */
export async function endHostProcesses(host: SimulatedHost): Promise<number> {
  const group = freezerGroup(host);
  if (!group || !fs.existsSync(group)) return 0;
  fs.writeFileSync(path.join(group, 'freezer.state'), 'FROZEN');
  const pids = pidsOf(group);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  fs.writeFileSync(path.join(group, 'freezer.state'), 'THAWED');
  const deadline = Date.now() + 30_000;
  while (pidsOf(group).length > 0) {
    if (Date.now() > deadline) throw new HostsError(`processes of ${host.node} are still alive after SIGKILL: ${pidsOf(group).join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return pids.length;
}

/**
 * Everything the simulated hosts of a state dir made: namespaces (their veths, routes and rules go
 * with them), the LAN bridge, its rules and the freezer groups. Finds them by name, so it also cleans
 * up after a cluster whose record is gone. Processes must have been stopped first.
 */
export function removeSimulatedHosts(stateDir: string): string[] {
  const hash = hashOf(stateDir);
  const removed: string[] = [];
  const namespaces = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns').filter((name) => name.startsWith(`tide-${hash}-`)) : [];
  for (const netns of namespaces) {
    run('ip', ['netns', 'delete', netns]);
    removed.push(netns);
  }
  const bridge = `tl${hash}`;
  for (const link of fs.readdirSync('/sys/class/net').filter((name) => name.startsWith(bridge))) {
    spawnSync('ip', ['link', 'delete', link]); // a veth may have gone with its namespace meanwhile
    removed.push(link);
  }
  const lan = { bridge } as SimulatedLan;
  for (const rule of forwardRules(lan)) while (spawnSync('iptables', ['-w', '-D', 'FORWARD', ...rule]).status === 0) removed.push(`iptables ${rule.slice(0, 2).join(' ')}`);
  const groups = path.join(FREEZER_ROOT, 'tide-hosts');
  const busy: string[] = [];
  for (const group of fs.existsSync(groups) ? fs.readdirSync(groups).filter((name) => name.startsWith(`tide-${hash}-`)) : []) {
    try {
      fs.rmdirSync(path.join(groups, group));
      removed.push(group);
    } catch {
      busy.push(path.join(groups, group)); // a process still in it
    }
  }
  if (busy.length > 0) throw new HostsError(`cannot remove ${busy.join(', ')}: processes are still in it (see cgroup.procs); end them and run tsctl down again`);
  return removed;
}
