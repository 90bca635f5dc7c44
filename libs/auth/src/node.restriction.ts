import { cidrContains, cidrsOverlap, parseCidr, parseIPv4, type Cidr } from '@tide/api';
import { ALLOWED, forbidden, unauthenticated, type Decision } from './decision';
import type { Subject } from './subjects';

/**
 * Kubernetes' NodeRestriction for Tide's agent gRPC calls, as pure predicates the gRPC adapter calls
 * with what the cluster cache knows. A node certificate lets its holder speak for that node only.
 */

/** What the checks need to know about a node registered in the cluster. */
export interface KnownNode {
  name: string;
  address?: string;
  podCIDR?: string;
}

function asNode(subject: Subject | undefined): { name: string } | Decision {
  if (!subject) return unauthenticated('no credentials: the agent endpoint needs a node certificate');
  if (subject.kind !== 'node') return forbidden('only a node certificate may call the agent endpoint');
  return subject;
}

/**
 * Register, Heartbeat, ReportUsage, WatchAssignments (a node watches only its own assignments) and
 * WatchEndpoints: the node named in the request must be the certificate's.
 */
export function nodeActsAsItself(subject: Subject | undefined, nodeName: string): Decision {
  const node = asNode(subject);
  if ('allowed' in node) return node;
  if (node.name !== nodeName) return forbidden(`node ${node.name} may not act as node ${nodeName}`);
  return ALLOWED;
}

/**
 * ReportStatus (status and `gone`): only for a replica bound to this node. `boundNode` is the
 * replica's spec.nodeName as stored, undefined when it has none (or the replica does not exist).
 */
export function nodeMayReportReplica(subject: Subject | undefined, replica: string, boundNode: string | undefined): Decision {
  const node = asNode(subject);
  if ('allowed' in node) return node;
  if (boundNode === undefined) return forbidden(`node ${node.name} may not report replica ${replica}: it is bound to no node`);
  if (boundNode !== node.name) return forbidden(`node ${node.name} may not report replica ${replica}: it is bound to ${boundNode}`);
  return ALLOWED;
}

/**
 * A reported replica IP must be one the node can own: inside the node's pod CIDR (bridge network)
 * or the node's own address (host network). Anything else would steal published traffic.
 */
export function nodeMayReportReplicaAddress(subject: Subject | undefined, ip: string, self: KnownNode): Decision {
  const node = asNode(subject);
  if ('allowed' in node) return node;
  if (node.name !== self.name) return forbidden(`node ${node.name} may not act as node ${self.name}`);
  if (ip === '' || ip === self.address) return ALLOWED;
  const address = ipv4(ip);
  const slice = self.podCIDR === undefined ? undefined : cidr(self.podCIDR);
  if (address !== undefined && slice !== undefined && cidrContains(slice, address)) return ALLOWED;
  const own = [self.podCIDR, self.address].filter((part) => part !== undefined).join(' or ');
  return forbidden(`node ${node.name} may not report the replica address ${ip}: it is not in ${own || 'anything the node holds'}`);
}

/** Register: a node may not take an address another node holds. */
export function nodeMayClaimAddress(subject: Subject | undefined, address: string, nodes: readonly KnownNode[]): Decision {
  const node = asNode(subject);
  if ('allowed' in node) return node;
  const holder = nodes.find((other) => other.name !== node.name && other.address === address);
  if (holder) return forbidden(`node ${node.name} may not take the address ${address}: node ${holder.name} has it`);
  return ALLOWED;
}

/** A node may not claim a pod CIDR that overlaps another node's. */
export function nodeMayClaimPodCidr(subject: Subject | undefined, podCIDR: string, nodes: readonly KnownNode[]): Decision {
  const node = asNode(subject);
  if ('allowed' in node) return node;
  const wanted = cidr(podCIDR);
  if (!wanted) return forbidden(`node ${node.name} may not claim "${podCIDR}": not an IPv4 CIDR`);
  for (const other of nodes) {
    if (other.name === node.name || other.podCIDR === undefined) continue;
    const theirs = cidr(other.podCIDR);
    if (theirs && cidrsOverlap(wanted, theirs)) {
      return forbidden(`node ${node.name} may not claim the pod CIDR ${podCIDR}: it overlaps node ${other.name}'s ${other.podCIDR}`);
    }
  }
  return ALLOWED;
}

function ipv4(text: string): number | undefined {
  try {
    return parseIPv4(text);
  } catch {
    return undefined;
  }
}

function cidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

/**
 * Revocation: a node certificate is good while the cluster still records its serial (stored when
 * the certificate is signed, two during a rotation, dropped by `tsctl node delete`). A certificate
 * the cluster no longer knows is a 401, as a revoked one fails its handshake in Kubernetes.
 */
export function nodeCertificateCurrent(subject: Subject | undefined, serialNumber: string, recordedSerials: readonly string[] | undefined): Decision {
  const node = asNode(subject);
  if ('allowed' in node) return node;
  const wanted = serialNumber.toLowerCase();
  if (!recordedSerials?.some((serial) => serial.toLowerCase() === wanted)) {
    return unauthenticated(`the certificate of node ${node.name} (serial ${serialNumber}) has been revoked or was never issued by this cluster`);
  }
  return ALLOWED;
}
