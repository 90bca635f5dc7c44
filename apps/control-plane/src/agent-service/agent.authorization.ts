/**
 * NodeRestriction on the agents' gRPC endpoint: who is calling (the verified client certificate, never
 * a request field) and what that node may say. libs/auth holds the rules as pure predicates; this
 * applies them to the protocol's requests with what the watch-fed cache knows, and says which gRPC
 * status a refusal is (401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED).
 */
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { NodeRegistration, NodeStatusReport, Node, Replica } from '@tide/api';
import {
  identityFromTlsSubject, nodeActsAsItself, nodeCertificateCurrent, nodeMayClaimAddress, nodeMayReportReplica, nodeMayReportReplicaAddress,
  subjectFromCertificate, type Decision, type KnownNode, type Refusal,
} from '@tide/auth';

/** What the checks read: nodes, replicas and the honoured certificate serials (ClusterCache). */
export interface AuthorizationView {
  get(kind: 'Node', namespace: string, name: string): Node | undefined;
  get(kind: 'Replica', namespace: string, name: string): Replica | undefined;
  list(kind: 'Node'): Node[];
  nodeCertificateSerials(node: string): readonly string[] | undefined;
}

/** A node, authenticated: its name and the serial of the certificate it called with. */
export interface NodeCaller {
  kind: 'node';
  name: string;
  serial: string;
}

export type Caller = NodeCaller | Refusal;

/**
 * The caller of a call, from the TLS peer certificate grpc-js verified against the cluster CA: a node
 * whose certificate the cluster still honours (not revoked by `tsctl node delete`), or a refusal.
 */
export function callerOf(peer: PeerCertificate | undefined, view: Pick<AuthorizationView, 'nodeCertificateSerials'>): Caller {
  if (!peer?.subject) return { allowed: false, status: 401, reason: 'no client certificate: the agent endpoint needs a node certificate (node-agent --join)' };
  const subject = subjectFromCertificate(identityFromTlsSubject(peer.subject));
  if ('allowed' in subject) return subject;
  if (subject.kind !== 'node') return nodeActsAsItself(subject, '') as Refusal;
  const current = nodeCertificateCurrent(subject, peer.serialNumber, view.nodeCertificateSerials(subject.name));
  if (!current.allowed) return current;
  return { kind: 'node', name: subject.name, serial: peer.serialNumber.toLowerCase() };
}

const asSubject = (caller: NodeCaller) => ({ kind: 'node' as const, name: caller.name });

function known(node: Node): KnownNode {
  return { name: node.metadata.name, address: node.spec.address, ...(node.spec.podCIDR ? { podCIDR: node.spec.podCIDR } : {}) };
}

/** Register: only as itself, and not with an address another node holds. */
export function authorizeRegistration(caller: NodeCaller, registration: NodeRegistration, view: AuthorizationView): Decision {
  const itself = nodeActsAsItself(asSubject(caller), registration.nodeName);
  if (!itself.allowed) return itself;
  return nodeMayClaimAddress(asSubject(caller), registration.address, view.list('Node').map(known));
}

/**
 * ReportStatus: only as itself; every replica it reports (status or gone) must be bound to it, and
 * every address it reports must be in its own pod CIDR or its own address. Replicas the cache no
 * longer has (deleted meanwhile) are left to the report's handler, which finds nothing to change.
 */
export function authorizeStatusReport(caller: NodeCaller, report: NodeStatusReport, view: AuthorizationView): Decision {
  const subject = asSubject(caller);
  const itself = nodeActsAsItself(subject, report.nodeName);
  if (!itself.allowed) return itself;
  const keys = [...report.replicas.map((r) => `${r.namespace}/${r.name}`), ...report.gone];
  for (const key of keys) {
    const slash = key.indexOf('/');
    const replica = view.get('Replica', key.slice(0, slash), key.slice(slash + 1));
    if (!replica) continue;
    const decision = nodeMayReportReplica(subject, key, replica.spec.nodeName);
    if (!decision.allowed) return decision;
  }
  const self = view.get('Node', 'default', caller.name);
  const selfKnown: KnownNode = self ? known(self) : { name: caller.name };
  for (const reported of report.replicas) {
    if (!reported.ip) continue;
    const decision = nodeMayReportReplicaAddress(subject, reported.ip, selfKnown);
    if (!decision.allowed) return decision;
  }
  return { allowed: true };
}

/** A refusal as the gRPC status a client sees. */
export function grpcRefusal(refusal: Refusal): grpc.ServiceError {
  const code = refusal.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED;
  return Object.assign(new Error(refusal.reason), { code, details: refusal.reason, metadata: new grpc.Metadata() });
}
