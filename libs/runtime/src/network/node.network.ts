/**
 * A node's side of bridge networking: the bridge holding the slice's first address, IP forwarding,
 * outbound NAT for the slice, and routes to other nodes' slices (host-gw: via the other node's
 * address, when that address is not on this machine; agents on one machine share its routing table
 * and reach each other's bridges directly). Every iptables rule carries the bridge's tag.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { bridgeMacFor, cidrContains, parseCidr, parseIPv4 } from '@tide/api';
import { BridgeSettings, PEER_ROUTE_PROTOCOL, PeerSlice, ruleTag } from './bridge.settings';
import { NetworkError, hasTool, ipBatch, ipJson, linkExists, run } from './network.command';
import { tearDownVxlan, vxlanNameFor } from './vxlan.network';


interface IpAddressEntry {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Creates or repairs the bridge and its rules; safe to run again (every registration does). */
export async function setUpNodeNetwork(settings: BridgeSettings): Promise<void> {
  const { bridge, gateway, subnet } = settings;
  const prefix = parseCidr(subnet).prefix;
  const addresses = await ipJson<IpAddressEntry[]>(['-4', 'addr', 'show']);
  const elsewhere = addresses.find((entry) => entry.ifname !== bridge && entry.addr_info?.some((a) => a.local === gateway));
  if (elsewhere) {
    throw new NetworkError(`cannot give bridge ${bridge} the address ${gateway}: interface ${elsewhere.ifname} has it already `
      + `(another Tide cluster on this machine with the same pod CIDR? give one of them another --pod-cidr)`);
  }
  const current = addresses.find((entry) => entry.ifname === bridge)?.addr_info?.filter((a) => a.family === 'inet') ?? [];
  const commands: string[] = [];
  if (!linkExists(bridge)) commands.push(`link add ${bridge} type bridge`);
  // Set, not inherited from a port: see bridgeMacFor. Also repairs a bridge made before this was done.
  commands.push(`link set ${bridge} address ${bridgeMacFor(bridge)}`);
  if (!current.every((a) => a.local === gateway && a.prefixlen === prefix)) commands.push(`addr flush dev ${bridge}`); // a new pod CIDR
  if (!current.some((a) => a.local === gateway && a.prefixlen === prefix)) commands.push(`addr add ${gateway}/${prefix} dev ${bridge}`);
  commands.push(`link set ${bridge} up`);
  await ipBatch(commands);
  // Containers on different bridges (this node's and other nodes') and the outside world are reached
  // through the host's routing, which forwards only when asked to.
  fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  await syncRules(bridge, desiredRules(settings));
}

/** Removes the bridge (its veths go with it), its VXLAN device if any, and every rule tagged for it. */
export async function tearDownNodeNetwork(bridge: string, clusterCidr?: string): Promise<void> {
  if (linkExists(bridge)) await ipBatch([`link del ${bridge}`]);
  await tearDownVxlan(vxlanNameFor(bridge));
  if (hasTool('iptables')) await syncRules(bridge, []); // without iptables no rule can have been made
  if (clusterCidr) await syncPeerRoutes(clusterCidr, []);
}

export interface IptablesRule {
  table: 'nat' | 'filter';
  /** As `iptables -S` prints it (so that existing rules compare equal), without the tag. */
  spec: string;
}

export function desiredRules(settings: BridgeSettings): IptablesRule[] {
  const { bridge, subnet, clusterCidr } = settings;
  return [
    // Outbound NAT: leaving the container network, the slice hides behind the node's address.
    { table: 'nat', spec: `-A POSTROUTING -s ${subnet} ! -d ${clusterCidr}` },
    // Accepted even where the FORWARD policy drops (a host with Docker installed, for one).
    { table: 'filter', spec: `-A FORWARD -i ${bridge}` },
    { table: 'filter', spec: `-A FORWARD -o ${bridge}` },
  ];
}

function tagged(rule: IptablesRule, bridge: string): string {
  return `${rule.spec} -m comment --comment ${ruleTag(bridge)} -j ${rule.table === 'nat' ? 'MASQUERADE' : 'ACCEPT'}`;
}

/** Which tagged rules to delete and which to add, given what `iptables -S` lists per table. */
export function planRules(bridge: string, existing: Record<IptablesRule['table'], string[]>, desired: IptablesRule[]) {
  const tag = `--comment ${ruleTag(bridge)}`;
  const toDelete: { table: IptablesRule['table']; line: string }[] = [];
  const toAdd: { table: IptablesRule['table']; line: string }[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const wanted = desired.filter((r) => r.table === table).map((r) => tagged(r, bridge));
    const present = existing[table].map((line) => line.replace(/--comment "([^"]*)"/, '--comment $1')).filter((line) => line.includes(`${tag} `));
    for (const line of present) if (!wanted.includes(line)) toDelete.push({ table, line });
    for (const line of wanted) if (!present.includes(line)) toAdd.push({ table, line });
  }
  return { toDelete, toAdd };
}

async function syncRules(bridge: string, desired: IptablesRule[]): Promise<void> {
  const existing = { nat: await listRules('nat'), filter: await listRules('filter') };
  const { toDelete, toAdd } = planRules(bridge, existing, desired);
  for (const { table, line } of toDelete) await run('iptables', ['-w', '-t', table, ...splitRule(line.replace(/^-A /, '-D '))]);
  for (const { table, line } of toAdd) await run('iptables', ['-w', '-t', table, ...splitRule(line)]);
}

async function listRules(table: string): Promise<string[]> {
  return (await run('iptables', ['-w', '-t', table, '-S'])).split('\n').filter((line) => line.startsWith('-A '));
}

/** Our rules contain no quoted words (tags are "tide:" + hex), so splitting on spaces is exact. */
function splitRule(line: string): string[] {
  return line.split(' ').filter(Boolean);
}

/** On this machine: loopback, or an address of one of its interfaces. Such peers need no route. */
export function isLocalAddress(address: string, interfaces = os.networkInterfaces()): boolean {
  if (cidrContains(parseCidr('127.0.0.0/8'), parseIPv4(address))) return true;
  return Object.values(interfaces).some((list) => list?.some((i) => i.address === address));
}

interface RouteEntry {
  dst: string;
  gateway?: string;
}

/** Routes to the slices of peers on other machines, via their address; stale ones go. */
export function planPeerRoutes(current: RouteEntry[], peers: PeerSlice[], isLocal: (address: string) => boolean) {
  const wanted = new Map(peers.filter((p) => !isLocal(p.address)).map((p) => [p.podCIDR, p.address]));
  const toDelete = current.filter((r) => wanted.get(r.dst) !== r.gateway).map((r) => r.dst);
  const toReplace = [...wanted].filter(([dst, via]) => !current.some((r) => r.dst === dst && r.gateway === via)).map(([dst, via]) => ({ dst, via }));
  return { toDelete, toReplace };
}

/** Makes the peer routes within the container network those of `peers`. */
export async function syncPeerRoutes(clusterCidr: string, peers: PeerSlice[]): Promise<void> {
  const cluster = parseCidr(clusterCidr);
  const routes = await ipJson<RouteEntry[]>(['-4', 'route', 'show', 'proto', String(PEER_ROUTE_PROTOCOL)]);
  const current = routes.filter((r) => cidrContains(cluster, parseIPv4(r.dst.split('/')[0])));
  const { toDelete, toReplace } = planPeerRoutes(current, peers, (address) => isLocalAddress(address));
  const commands = [
    ...toDelete.map((dst) => `route del ${dst} proto ${PEER_ROUTE_PROTOCOL}`),
    ...toReplace.map(({ dst, via }) => `route replace ${dst} via ${via} proto ${PEER_ROUTE_PROTOCOL}`),
  ];
  if (commands.length > 0) await ipBatch(commands);
}
