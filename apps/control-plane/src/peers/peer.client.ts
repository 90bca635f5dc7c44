/**
 * The other control planes' peer endpoints, as the usage forwarder calls them: one channel per peer,
 * mutual TLS with this instance's client certificate (CN system:tide-control-plane, of the cluster
 * CA: the one it presents to agents too), the peer's serving certificate checked against the cluster
 * CA and the address dialled. A renewed certificate reaches the connections made afterwards.
 */
import * as grpc from '@grpc/grpc-js';
import { NodeUsageReport, UsageReportAck } from '@tide/api';
import {
  PeerProtoGrpcType, PemCredentials, RotatingCertificates, UsageAck__Output, decodeUsageAck, encodeUsageReport, loadPeerProto, rotatingChannelCredentials,
} from '@tide/proto';
import type { PeerLink, UsagePeer } from '../usage/usage.forwarder';

/** A call that takes longer fails: the forwarder then pauses that peer and sends full sets after. */
const CALL_DEADLINE_MS = 5000;

export class PeerClients {
  private readonly certificates: RotatingCertificates;
  private readonly PeerService: PeerProtoGrpcType['tide']['v1']['PeerService'];

  constructor(credentials: PemCredentials) {
    this.certificates = new RotatingCertificates(credentials);
    this.PeerService = loadPeerProto().tide.v1.PeerService;
  }

  /** A renewed client certificate (or CA), for the connections made from now on. */
  useCredentials(credentials: PemCredentials): void {
    this.certificates.update(credentials);
  }

  connect(peer: UsagePeer): PeerLink {
    const client = new this.PeerService(peer.address, rotatingChannelCredentials(this.certificates));
    return {
      forward: (report: NodeUsageReport) => new Promise<UsageReportAck>((resolve, reject) => {
        client.ForwardUsage(encodeUsageReport(report), { deadline: Date.now() + CALL_DEADLINE_MS }, (error: grpc.ServiceError | null, ack?: UsageAck__Output) => {
          if (error) reject(error);
          else resolve(decodeUsageAck(ack));
        });
      }),
      close: () => client.close(),
    };
  }
}
