/**
 * IPv4 addresses and CIDR blocks, for the container network (100.64.0.0/16 by default), each node's
 * slice of it (a /24) and the addresses handed out within a slice. Addresses are unsigned 32-bit
 * numbers; `>>> 0` keeps them unsigned after bit operations.
 */

export interface Cidr {
  /** The first address of the block (host bits zero). */
  network: number;
  prefix: number;
}

export class CidrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CidrError';
  }
}

export const DEFAULT_POD_CIDR = '100.64.0.0/16';
/**
 * Each node gets one block of this size from the container network (`--node-cidr-mask-size`): a /22
 * holds 1,021 containers (without the network, gateway and broadcast addresses), so a host runs
 * 1,000; the default /16 then holds 64 hosts, and a larger --pod-cidr more.
 */
export const DEFAULT_NODE_CIDR_MASK_SIZE = 22;

/**
 * How a node reaches the other nodes' slices: `host-gw`, a route per slice via the node's address
 * (the nodes share a LAN, as flannel's host-gw), or `vxlan`, the kernel's VXLAN tunnels between the
 * nodes' addresses (nodes on different networks, routed but not bridged).
 */
export const POD_NETWORK_MODES = ['host-gw', 'vxlan'] as const;
export type PodNetworkMode = (typeof POD_NETWORK_MODES)[number];

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new CidrError(`"${text}" is not an IPv4 address`);
  }
  return parts.reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}

export function formatIPv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

/** "100.64.0.0/16"; host bits must be zero, so that a typo is not silently widened or narrowed. */
export function parseCidr(text: string): Cidr {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!match || Number(match[2]) > 32) throw new CidrError(`"${text}" is not an IPv4 CIDR block such as 100.64.0.0/16`);
  const prefix = Number(match[2]);
  const address = parseIPv4(match[1]);
  const network = (address & mask(prefix)) >>> 0;
  if (network !== address) throw new CidrError(`"${text}" has host bits set: did you mean ${formatIPv4(network)}/${prefix}?`);
  return { network, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIPv4(cidr.network)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return ((address & mask(cidr.prefix)) >>> 0) === cidr.network;
}

/** The address `index` places after the block's network address. */
export function addressAt(cidr: Cidr, index: number): number {
  if (index < 0 || index >= cidrSize(cidr)) throw new CidrError(`${formatCidr(cidr)} has no address number ${index}`);
  return cidr.network + index;
}

/** How many blocks of `prefix` the block holds (0 when `prefix` is shorter than the block's). */
export function subnetCount(cidr: Cidr, prefix: number): number {
  return prefix < cidr.prefix ? 0 : 2 ** (prefix - cidr.prefix);
}

/** The `index`-th block of `prefix` inside the block. */
export function subnetAt(cidr: Cidr, prefix: number, index: number): Cidr {
  if (index < 0 || index >= subnetCount(cidr, prefix)) throw new CidrError(`${formatCidr(cidr)} has no /${prefix} number ${index}`);
  return { network: cidr.network + index * 2 ** (32 - prefix), prefix };
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.prefix <= b.prefix ? cidrContains(a, b.network) : cidrContains(b, a.network);
}
