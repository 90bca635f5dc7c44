/**
 * The VXLAN overlay (`--pod-network vxlan`), for nodes that reach each other's addresses but do not
 * share a LAN: each node has one kernel `vxlan` device, its tunnel endpoint, holding its slice's
 * network address as a /32 (as flannel's vxlan backend). For every other node's slice:
 *   - a route: the slice via the peer's tunnel address, on the vxlan device (`onlink`: no subnet holds it);
 *   - a permanent neighbour: the peer's tunnel address at the peer device's MAC;
 *   - a forwarding entry: that MAC behind the peer node's address (where the kernel sends the UDP).
 * The MAC is derived from the slice, so nothing but the node list the control plane pushes is needed,
 * no ARP or flooding crosses the tunnels, and a node that leaves loses all three everywhere. Only
 * the listed nodes may send to the VXLAN port (vxlan.filter.ts).
 */
import { addressAt, formatIPv4, parseCidr } from '@tide/api';
import { NetworkError, ipBatch, ipJson, linkExists, run } from './network.command';
import { syncVxlanFilter } from './vxlan.filter';
import { PEER_ROUTE_PROTOCOL, PeerSlice } from './bridge.settings';

/** The VXLAN network identifier and UDP port (IANA's 4789) of Tide's overlay. */
export const VXLAN_ID = 1;
export const VXLAN_PORT = 4789;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
const VXLAN_OVERHEAD = 50;

export interface VxlanSettings {
  /** The device's name (derived from the node's bridge: "tvx" + its hash). */
  device: string;
  /** The node's own address, where tunnels end. */
  localAddress: string;
  /** The node's slice: the device holds its network address. */
  subnet: string;
}

/** "tide0123456789" → "tvx0123456789": per agent, like the bridge, within the 15 characters of an interface name. */
export function vxlanNameFor(bridge: string): string {
  return `tvx${bridge.replace(/^tide/, '')}`;
}

/** A locally administered unicast MAC from a slice's network address: 0e:7d:a.b.c.d. */
export function vxlanMacFor(subnet: string): string {
  const network = parseCidr(subnet).network;
  const bytes = [0x0e, 0x7d, network >>> 24, (network >>> 16) & 0xff, (network >>> 8) & 0xff, network & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function tunnelAddressOf(subnet: string): string {
  return formatIPv4(addressAt(parseCidr(subnet), 0));
}

interface AddressEntry {
  ifname: string;
  mtu?: number;
  addr_info?: { family: string; local: string }[];
}

/** Creates or repairs the node's vxlan device on the interface that holds its address. */
export async function setUpVxlan(settings: VxlanSettings): Promise<void> {
  const { device, localAddress, subnet } = settings;
  const interfaces = await ipJson<AddressEntry[]>(['-4', 'addr', 'show']);
  const underlay = interfaces.find((entry) => entry.ifname !== device && entry.addr_info?.some((a) => a.local === localAddress));
  if (!underlay) throw new NetworkError(`cannot set up the VXLAN overlay: no interface has the node's address ${localAddress} (--address)`);
  const commands: string[] = [];
  if (!linkExists(device)) {
    commands.push(`link add ${device} type vxlan id ${VXLAN_ID} local ${localAddress} dev ${underlay.ifname} dstport ${VXLAN_PORT} nolearning`);
  }
  const tunnelAddress = tunnelAddressOf(subnet);
  const current = interfaces.find((entry) => entry.ifname === device)?.addr_info ?? [];
  if (!current.every((a) => a.local === tunnelAddress)) commands.push(`addr flush dev ${device}`);
  if (!current.some((a) => a.local === tunnelAddress)) commands.push(`addr add ${tunnelAddress}/32 dev ${device}`);
  commands.push(`link set ${device} address ${vxlanMacFor(subnet)} mtu ${(underlay.mtu ?? 1500) - VXLAN_OVERHEAD} up`);
  await ipBatch(commands);
}

export async function tearDownVxlan(device: string): Promise<void> {
  if (linkExists(device)) await ipBatch([`link del ${device}`]);
  await syncVxlanFilter(device, undefined);
}

interface NeighbourEntry {
  dst: string;
  lladdr?: string;
}

interface FdbEntry {
  mac: string;
  dst?: string;
}

interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** What must change on the device so that exactly `peers` are reachable through it. */
export function planVxlanPeers(device: string, peers: PeerSlice[], current: { routes: RouteEntry[]; neighbours: NeighbourEntry[]; fdb: FdbEntry[] }) {
  const wanted = peers.map((p) => ({ slice: p.podCIDR, tunnel: tunnelAddressOf(p.podCIDR), mac: vxlanMacFor(p.podCIDR), node: p.address }));
  const ipCommands: string[] = [];
  const fdbCommands: string[] = [];
  for (const route of current.routes) {
    if (!wanted.some((w) => w.slice === route.dst && w.tunnel === route.gateway && route.dev === device)) ipCommands.push(`route del ${route.dst} proto ${PEER_ROUTE_PROTOCOL}`);
  }
  for (const entry of current.neighbours) if (!wanted.some((w) => w.tunnel === entry.dst && w.mac === entry.lladdr)) ipCommands.push(`neigh del ${entry.dst} dev ${device}`);
  for (const entry of current.fdb) if (!wanted.some((w) => w.mac === entry.mac && w.node === entry.dst)) fdbCommands.push(`fdb del ${entry.mac} dev ${device} dst ${entry.dst}`);
  for (const w of wanted) {
    if (!current.neighbours.some((n) => n.dst === w.tunnel && n.lladdr === w.mac)) ipCommands.push(`neigh replace ${w.tunnel} lladdr ${w.mac} dev ${device} nud permanent`);
    if (!current.routes.some((r) => r.dst === w.slice && r.gateway === w.tunnel && r.dev === device)) {
      ipCommands.push(`route replace ${w.slice} via ${w.tunnel} dev ${device} onlink proto ${PEER_ROUTE_PROTOCOL}`);
    }
    if (!current.fdb.some((f) => f.mac === w.mac && f.dst === w.node)) fdbCommands.push(`fdb append ${w.mac} dev ${device} dst ${w.node} self permanent`);
  }
  return { ipCommands, fdbCommands };
}

/** Makes the device's peers (routes, neighbours, forwarding entries) those of `peers`. */
export async function syncVxlanPeers(device: string, inCluster: (dst: string) => boolean, peers: PeerSlice[]): Promise<void> {
  const routes = (await ipJson<RouteEntry[]>(['-4', 'route', 'show', 'proto', String(PEER_ROUTE_PROTOCOL)])).filter((r) => inCluster(r.dst));
  const neighbours = (await ipJson<NeighbourEntry[]>(['-4', 'neigh', 'show', 'dev', device])).map((n) => ({ ...n, dst: n.dst }));
  const fdb = JSON.parse((await run('bridge', ['-j', 'fdb', 'show', 'dev', device])) || '[]') as FdbEntry[];
  const plan = planVxlanPeers(device, peers, { routes, neighbours, fdb: fdb.filter((f) => f.dst !== undefined) });
  // Forwarding entries first: a route and neighbour without one would send into the void.
  if (plan.fdbCommands.length > 0) await run('bridge', ['-batch', '-'], `${plan.fdbCommands.join('\n')}\n`);
  if (plan.ipCommands.length > 0) await ipBatch(plan.ipCommands);
  await syncVxlanFilter(device, peers.map((p) => p.address));
}
