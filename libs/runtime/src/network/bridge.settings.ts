/** What a node's bridge network is made of; the agent derives it from the pod CIDR it was given. */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { addressAt, formatIPv4, parseCidr } from '@tide/api';

export interface BridgeSettings {
  /** The node's bridge (at most 15 characters, the kernel's limit for interface names). */
  bridge: string;
  /** The node's slice of the container network, e.g. 100.64.3.0/24. */
  subnet: string;
  /** The bridge's address and the containers' default route: the slice's first address. */
  gateway: string;
  /** The whole container network: traffic to it is routed between nodes, never NATed. */
  clusterCidr: string;
}

/** Marks the routes to other nodes' slices (an unassigned routing protocol number, see rt_protos). */
export const PEER_ROUTE_PROTOCOL = 73;

/** Another node and its slice, as the control plane pushes them. */
export interface PeerSlice {
  /** The other node's address. */
  address: string;
  podCIDR: string;
}

export function bridgeSettings(bridge: string, podCidr: string, clusterCidr: string): BridgeSettings {
  return { bridge, subnet: podCidr, gateway: formatIPv4(addressAt(parseCidr(podCidr), 1)), clusterCidr };
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * `tsctl up` runs several agents on one machine (and test clusters run beside each other, all with
 * nodes called node-1, node-2...), so the bridge is named after the node's state dir, which is what
 * tells agents apart and what `node-agent cleanup` is given: "tide" + 10 hex digits = 14 characters.
 */
export function bridgeNameFor(stateDir: string): string {
  return `tide${shortHash(path.resolve(stateDir), 10)}`;
}

/** The host end of a container's veth pair: unique on the machine, found again from the container. */
export function hostVethNameFor(stateDir: string, containerId: string): string {
  return `tv${shortHash(`${path.resolve(stateDir)}\0${containerId}`, 12)}`;
}

/** The comment that tags every iptables rule of one bridge, so that cleanup finds them all. */
export function ruleTag(bridge: string): string {
  return `tide:${bridge}`;
}
