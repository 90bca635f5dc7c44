/**
 * The peer endpoint (PeerService, proto/tide/v1/peer.proto), served beside AgentService on the agents'
 * gRPC endpoint: other control planes of the cluster forward the usage reports their agents send.
 * Only a caller whose verified client certificate is a control plane's (of the cluster CA, checked by
 * the TLS handshake) gets in; a forwarded report is recorded, never forwarded again (no loops).
 */
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { NodeUsageReport } from '@tide/api';
import { authorizePeerCall, identityFromTlsSubject, isNodeName, subjectFromCertificate, type Refusal } from '@tide/auth';
import { PeerServiceDefinition, PeerServiceHandlers, decodeUsageReport, encodeUsageAck, loadPeerProto } from '@tide/proto';
import { grpcRefusal } from '../agent-service/agent.authorization';

/** Where forwarded reports go (the instance's UsageCache). */
export interface ForwardedUsageSink {
  record(report: NodeUsageReport): { holdsFullSet: boolean };
}

/** tide_usage_reports_total: `peer` counts what this endpoint records. */
export interface UsageReportCounter {
  inc(labels: { source: 'agent' | 'peer' }): void;
}

export function peerServiceDefinition(): PeerServiceDefinition {
  return loadPeerProto().tide.v1.PeerService.service;
}

export function peerServiceHandlers(usage: ForwardedUsageSink | undefined, counted?: UsageReportCounter): PeerServiceHandlers {
  return {
    ForwardUsage: (call, callback) => {
      const refused = peerCallRefusal(call.getAuthContext().sslPeerCertificate);
      if (refused) return callback(grpcRefusal(refused));
      const report = decodeUsageReport(call.request);
      const invalid = forwardedReportProblem(report);
      if (invalid) return callback(Object.assign(new Error(invalid), { code: grpc.status.INVALID_ARGUMENT, details: invalid, metadata: new grpc.Metadata() }));
      // Without a cache nothing is held: the forwarding instance keeps sending full reports.
      const ack = usage?.record(report) ?? { holdsFullSet: false };
      if (ack.holdsFullSet) counted?.inc({ source: 'peer' });
      callback(null, encodeUsageAck(ack));
    },
  };
}

/** Why the caller may not forward usage here (undefined: it may). */
export function peerCallRefusal(peer: PeerCertificate | undefined): Refusal | undefined {
  if (!peer?.subject) return { allowed: false, status: 401, reason: 'no client certificate: the peer endpoint needs the control plane\'s client certificate' };
  const subject = subjectFromCertificate(identityFromTlsSubject(peer.subject));
  if ('allowed' in subject) return subject;
  const decision = authorizePeerCall(subject);
  return decision.allowed ? undefined : decision;
}

/** What is wrong with a forwarded report, named by its field (undefined: nothing). */
export function forwardedReportProblem(report: NodeUsageReport): string | undefined {
  if (!isNodeName(report.nodeName)) return `node_name "${report.nodeName}": not a node name (lower-case letters, digits, '-' and '.')`;
  if (!Number.isFinite(report.timestampMs) || report.timestampMs <= 0) return `timestamp_ms ${report.timestampMs}: must be the agent's sample time in milliseconds since the epoch`;
  return undefined;
}
