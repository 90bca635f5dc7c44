/**
 * The agent's side of the AgentService protocol: register, heartbeat, the stream of desired
 * replicas, status reports. Every failure leads back to registering again after a pause; the
 * containers keep running meanwhile (a control plane outage is not a reason to stop anything).
 */
import * as grpc from '@grpc/grpc-js';
import { AgentServiceClient, Assignments__Output, StatusReport, loadAgentProto } from '@tide/proto';
import { AgentConfig } from './config';

export interface ClientHandlers {
  onAssignments(assignments: Assignments__Output): void;
  report(): StatusReport;
  log(line: string): void;
}

const RECONNECT_MS = 1000;
/** Node capacity the agent keeps for itself and the system. */
const RESERVED = { cpuMillis: 100, memoryBytes: 128 * 2 ** 20 };

export class ControlPlaneClient {
  private readonly client: AgentServiceClient;
  private heartbeatTimer?: NodeJS.Timeout;
  private reportTimer?: NodeJS.Timeout;
  private stream?: grpc.ClientReadableStream<Assignments__Output>;
  private session = 0;
  private closed = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly handlers: ClientHandlers,
  ) {
    const proto = loadAgentProto();
    this.client = new proto.tide.v1.AgentService(config.controlPlane, grpc.credentials.createInsecure()) as unknown as AgentServiceClient;
  }

  start(): void {
    void this.connect();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.reportTimer);
    this.stream?.cancel();
    this.client.close();
  }

  /** Sends the current status now. */
  async reportNow(): Promise<void> {
    await new Promise<void>((resolve) => this.client.ReportStatus(this.handlers.report(), { deadline: Date.now() + 5000 }, () => resolve()));
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const session = ++this.session;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.reportTimer);
    this.stream?.cancel();
    try {
      const interval = await this.register();
      if (session !== this.session) return;
      this.watch(session);
      this.heartbeatTimer = setInterval(() => this.heartbeat(session), interval);
      this.reportTimer = setInterval(() => void this.reportNow(), 10_000);
      await this.reportNow();
    } catch (error) {
      this.handlers.log(`cannot reach the control plane at ${this.config.controlPlane}: ${(error as Error).message}; retrying`);
      setTimeout(() => session === this.session && void this.connect(), RECONNECT_MS);
    }
  }

  private register(): Promise<number> {
    const c = this.config;
    const request = {
      nodeName: c.name, address: c.address, agentPort: c.port, labels: c.labels,
      capacity: { cpuMillis: c.cpuMillis, memoryBytes: c.memoryBytes },
      allocatable: { cpuMillis: Math.max(0, c.cpuMillis - RESERVED.cpuMillis), memoryBytes: Math.max(0, c.memoryBytes - RESERVED.memoryBytes) },
    };
    return new Promise((resolve, reject) =>
      this.client.Register(request, { deadline: Date.now() + 5000 }, (error, response) =>
        error ? reject(error) : resolve(Math.max(200, Number(response?.heartbeatIntervalMs ?? 2000)))));
  }

  private heartbeat(session: number): void {
    this.client.Heartbeat({ nodeName: this.config.name }, { deadline: Date.now() + 5000 }, (error, response) => {
      if (session !== this.session) return;
      if (error || !response?.known) {
        this.handlers.log(error ? `heartbeat failed: ${error.message}` : 'the control plane lost this node; registering again');
        void this.connect();
      }
    });
  }

  private watch(session: number): void {
    const stream = this.client.WatchAssignments({ nodeName: this.config.name });
    this.stream = stream;
    stream.on('data', (assignments: Assignments__Output) => this.handlers.onAssignments(assignments));
    const reconnect = () => {
      if (session !== this.session || this.closed) return;
      this.session++;
      setTimeout(() => void this.connect(), RECONNECT_MS);
    };
    stream.on('error', reconnect);
    stream.on('end', reconnect);
  }
}
