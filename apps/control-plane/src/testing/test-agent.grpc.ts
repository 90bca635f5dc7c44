/**
 * A node agent's side of AgentService for the control plane's tests: domain values in and out,
 * through the real gRPC wire (mutual TLS with the node's certificate) and libs/proto's mapper, as a
 * real agent sends them. Credentials may be any certificate: forged-agent tests hold one for node-1
 * and speak for node-2.
 */
import * as grpc from '@grpc/grpc-js';
import { NodeAssignments, NodeHeartbeat, NodeRegistration, NodeStatusReport, NodeUsageReport, RegistrationAnswer, UsageReportAck } from '@tide/api';
import {
  AgentServiceClient, Assignments__Output, UsageAck__Output, decodeAssignments, decodeRegistrationAnswer, decodeUsageAck, encodeHeartbeat,
  encodeRegistration, encodeStatusReport, encodeUsageReport, loadAgentProto,
} from '@tide/proto';

/** What a client presents: the CA it trusts and its own pair (all PEM); absent: no client certificate at all. */
export interface AgentCredentials {
  ca: string;
  certificate?: string;
  key?: string;
}

export class TestAgentClient {
  private readonly client: AgentServiceClient;

  constructor(address: string, credentials: AgentCredentials) {
    const channel = grpc.credentials.createSsl(
      Buffer.from(credentials.ca),
      credentials.key ? Buffer.from(credentials.key) : null,
      credentials.certificate ? Buffer.from(credentials.certificate) : null,
    );
    this.client = new (loadAgentProto().tide.v1.AgentService)(address, channel) as unknown as AgentServiceClient;
  }

  async register(registration: NodeRegistration): Promise<RegistrationAnswer> {
    return decodeRegistrationAnswer(await call((done) => this.client.Register(encodeRegistration(registration), done)));
  }

  async heartbeat(heartbeat: NodeHeartbeat): Promise<boolean> {
    return (await call<{ known: boolean }>((done) => this.client.Heartbeat(encodeHeartbeat(heartbeat), done))).known;
  }

  async reportStatus(report: NodeStatusReport): Promise<void> {
    await call((done) => this.client.ReportStatus(encodeStatusReport(report), done));
  }

  async reportUsage(report: NodeUsageReport): Promise<UsageReportAck> {
    return decodeUsageAck(await call<UsageAck__Output>((done) => this.client.ReportUsage(encodeUsageReport(report), done)));
  }

  async renewCertificate(csr: string): Promise<{ certificate: string; ca: string }> {
    return call((done) => this.client.RenewCertificate({ csr }, done));
  }

  /** Every message of the node's WatchAssignments stream, decoded; `cancel` ends it, `ended` settles with how the server ended it. */
  watchAssignments(nodeName: string, onMessage: (assignments: NodeAssignments) => void): { cancel(): void; ended: Promise<grpc.ServiceError | undefined> } {
    const stream = this.client.WatchAssignments({ nodeName });
    stream.on('data', (message: Assignments__Output) => onMessage(decodeAssignments(message)));
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      stream.on('error', (error: grpc.ServiceError) => resolve(error));
      stream.on('end', () => resolve(undefined));
    });
    return { cancel: () => stream.cancel(), ended };
  }

  close(): void {
    this.client.close();
  }
}

function call<T>(invoke: (done: (error: grpc.ServiceError | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((error, value) => (error ? reject(error) : resolve(value as T))));
}
