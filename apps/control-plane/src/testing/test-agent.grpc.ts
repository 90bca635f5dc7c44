/**
 * A node agent's side of AgentService for the control plane's tests: domain values in and out,
 * through the real gRPC wire and libs/proto's mapper, as a real agent sends them.
 */
import * as grpc from '@grpc/grpc-js';
import { NodeAssignments, NodeHeartbeat, NodeRegistration, NodeStatusReport, RegistrationAnswer } from '@tide/api';
import {
  AgentServiceClient, Assignments__Output, decodeAssignments, decodeRegistrationAnswer, encodeHeartbeat, encodeRegistration,
  encodeStatusReport, loadAgentProto,
} from '@tide/proto';

export class TestAgentClient {
  private readonly client: AgentServiceClient;

  constructor(address: string) {
    this.client = new (loadAgentProto().tide.v1.AgentService)(address, grpc.credentials.createInsecure()) as unknown as AgentServiceClient;
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

  /** Every message of the node's WatchAssignments stream, decoded; `cancel` ends it. */
  watchAssignments(nodeName: string, onMessage: (assignments: NodeAssignments) => void): { cancel(): void } {
    const stream = this.client.WatchAssignments({ nodeName });
    stream.on('data', (message: Assignments__Output) => onMessage(decodeAssignments(message)));
    stream.on('error', () => undefined);
    return { cancel: () => stream.cancel() };
  }

  close(): void {
    this.client.close();
  }
}

function call<T>(invoke: (done: (error: grpc.ServiceError | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => invoke((error, value) => (error ? reject(error) : resolve(value as T))));
}
