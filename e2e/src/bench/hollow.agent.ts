/**
 * A hollow node agent: the real AgentService protocol (register, heartbeat at the interval the
 * control plane gives, the assignment stream, status reports coalesced 50 ms after a change and in
 * full every 10 s, as the real agent does) without containers: every assigned replica is reported
 * Running and ready at once. Many of them run in one process, each on its own gRPC connection with
 * its own node certificate (mutual TLS, as a real agent after its join).
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO } from '../harness';
import { NodeCredentials } from '../node.credentials';

interface Assignment { namespace: string; name: string }
interface Assignments { replicas: Assignment[] }
type Callback<T> = (error: grpc.ServiceError | null, value?: T) => void;
interface AgentClient extends grpc.Client {
  Register(request: object, options: grpc.CallOptions, done: Callback<{ heartbeatIntervalMs: number }>): void;
  Heartbeat(request: object, options: grpc.CallOptions, done: Callback<{ known: boolean }>): void;
  ReportStatus(request: object, options: grpc.CallOptions, done: Callback<object>): void;
  WatchAssignments(request: object): grpc.ClientReadableStream<Assignments>;
}
type AgentConstructor = new (address: string, credentials: grpc.ChannelCredentials, options: object) => AgentClient;

const REPORT_COALESCE_MS = 50;
const FULL_REPORT_MS = 10_000;
const DEADLINE_MS = 30_000;

let agentService: AgentConstructor | undefined;

function loadService(): AgentConstructor {
  if (agentService) return agentService;
  const definition = protoLoader.loadSync(path.join(REPO, 'proto/tide/v1/agent.proto'), {
    keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [path.join(REPO, 'proto')],
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { tide: { v1: { AgentService: AgentConstructor } } };
  agentService = loaded.tide.v1.AgentService;
  return agentService;
}

export interface HollowNodeOptions {
  name: string;
  controlPlane: string;
  /** The node's certificate and key (from a join) and the cluster CA. */
  credentials: NodeCredentials;
  /** Its own address: a node may not take another's. */
  address: string;
  cpuMillis: number;
  memoryBytes: number;
  images: string[];
  /** Called with the replica's key the first time an assignment carries it. */
  onAssigned(key: string, atMs: number): void;
}

export class HollowNode {
  private readonly client: AgentClient;
  private stream?: grpc.ClientReadableStream<Assignments>;
  private readonly timers: NodeJS.Timeout[] = [];
  private reportTimer?: NodeJS.Timeout;
  private assigned: Assignment[] = [];
  /** Replica key → when it "started" (its first assignment): a real container's start time does not move. */
  private readonly seen = new Map<string, string>();
  private closed = false;
  errors = 0;
  /** What failed, by call and message (how many times each): said when `errors` is not 0. */
  readonly failures = new Map<string, number>();

  constructor(private readonly options: HollowNodeOptions) {
    const Service = loadService();
    // Its own connection, as a real agent on its own machine has.
    const { ca, key, certificate } = options.credentials;
    const channel = grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(key), Buffer.from(certificate));
    this.client = new Service(options.controlPlane, channel, { 'grpc.use_local_subchannel_pool': 1 });
  }

  /** Replicas ever assigned to this node. */
  get replicaCount(): number {
    return this.seen.size;
  }

  async start(): Promise<void> {
    const { name, cpuMillis, memoryBytes, images } = this.options;
    const resources = { cpuMillis, memoryBytes };
    const response = await this.call<{ heartbeatIntervalMs: number }>((done) => this.client.Register({
      nodeName: name, address: this.options.address, agentPort: 1, capacity: resources, allocatable: resources, labels: { hollow: 'true' }, images,
    }, this.deadline(), done));
    this.timers.push(setInterval(() => this.heartbeat(), Math.max(200, Number(response.heartbeatIntervalMs))));
    this.timers.push(setInterval(() => this.report(), FULL_REPORT_MS));
    // As a real agent does: the node list only when it changed (the hollow node keeps no routes anyway).
    const stream = this.client.WatchAssignments({ nodeName: name, nodesWhenChanged: true });
    this.stream = stream;
    stream.on('data', (assignments: Assignments) => this.assignments(assignments));
    stream.on('error', (error: Error) => this.failed('WatchAssignments', error));
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.reportTimer);
    this.stream?.cancel();
    this.client.close();
  }

  private assignments(assignments: Assignments): void {
    const now = performance.now();
    this.assigned = assignments.replicas;
    let changed = false;
    for (const replica of assignments.replicas) {
      const key = `${replica.namespace}/${replica.name}`;
      if (this.seen.has(key)) continue;
      this.seen.set(key, new Date().toISOString());
      changed = true;
      this.options.onAssigned(key, now);
    }
    if (changed && !this.reportTimer) this.reportTimer = setTimeout(() => this.report(), REPORT_COALESCE_MS);
  }

  private report(): void {
    this.reportTimer = undefined;
    if (this.closed) return;
    const replicas = this.assigned.map((r) => ({
      namespace: r.namespace, name: r.name, phase: 'Running', ready: true, restartCount: 0, startedAt: this.seen.get(`${r.namespace}/${r.name}`),
    }));
    this.client.ReportStatus({ nodeName: this.options.name, replicas, gone: [] }, this.deadline(), (error) => this.failed('ReportStatus', error));
  }

  private heartbeat(): void {
    this.client.Heartbeat({ nodeName: this.options.name }, this.deadline(), (error) => this.failed('Heartbeat', error));
  }

  private failed(call: string, error: Error | null): void {
    if (!error || this.closed) return;
    this.errors++;
    const key = `${call}: ${error.message}`;
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
  }

  private deadline(): grpc.CallOptions {
    return { deadline: Date.now() + DEADLINE_MS };
  }

  private call<T>(invoke: (done: Callback<T>) => void): Promise<T> {
    return new Promise((resolve, reject) => invoke((error, value) => (error ? reject(error) : resolve(value as T))));
  }
}
