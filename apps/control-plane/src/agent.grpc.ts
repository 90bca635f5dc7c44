/**
 * The AgentService gRPC server: nodes register, heartbeat (their etcd lease), receive the complete
 * set of replicas desired on them as a stream, and report status.
 */
import * as grpc from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { Node, Probes, Replica, ResolvedProbe, canonicalJson } from '@tide/api';
import {
  AgentServiceHandlers, Assignment, Assignments, Endpoints, NodeSlice, Probe, Probes as ProbesMessage, RegisterRequest__Output,
  ReplicaStatus__Output, StatusReport__Output, loadAgentProto,
} from '@tide/proto';
import { NodeLeases, NotFoundError, ObjectStore } from '@tide/store';
import { EventRecorder } from './controllers/events.recorder';
import { EndpointsPublisher } from './endpoints/endpoints.publisher';
import { PodCidrAllocator } from './network/pod-cidr.allocator';
import { reportedStatus } from './replica.status';

type Stream = grpc.ServerWritableStream<{ nodeName: string }, Assignments>;

export class AgentGrpcServer {
  private readonly logger = new Logger('AgentGrpc');
  private readonly server = new grpc.Server();
  private readonly streams = new Map<Stream, { node: string; last: string }>();
  private refreshTimer?: NodeJS.Timeout;

  constructor(
    private readonly store: ObjectStore,
    private readonly leases: NodeLeases,
    private readonly events: EventRecorder,
    private readonly podCidrs: PodCidrAllocator,
    private readonly heartbeatIntervalMs: number,
    private readonly endpoints: EndpointsPublisher,
  ) {}

  async listen(address: string): Promise<void> {
    const proto = loadAgentProto();
    this.server.addService(proto.tide.v1.AgentService.service, this.handlers());
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    await this.store.watch<Replica>('Replica', () => this.scheduleRefresh());
    // Nodes joining (or getting a new address) change every agent's routes to the other slices.
    await this.store.watch<Node>('Node', () => this.scheduleRefresh());
  }

  async close(): Promise<void> {
    for (const stream of this.streams.keys()) stream.end();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handlers(): AgentServiceHandlers {
    return {
      Register: (call, callback) => this.register(call.request).then((podCidr) => callback(null, {
        leaseTtlSeconds: this.leases.ttlSeconds, heartbeatIntervalMs: this.heartbeatIntervalMs, podCidr, clusterCidr: this.podCidrs.clusterCidr,
      }), (error) => callback(toStatus(error))),
      Heartbeat: (call, callback) => this.leases.renew(call.request.nodeName).then((known) => callback(null, { known }), (error) => callback(toStatus(error))),
      WatchAssignments: (call) => this.watch(call as unknown as Stream),
      ReportStatus: (call, callback) => this.report(call.request).then(() => callback(null, {}), (error) => callback(toStatus(error))),
      WatchEndpoints: (call) => this.endpoints.watch(call as unknown as grpc.ServerWritableStream<{ nodeName: string }, Endpoints>),
    };
  }

  /** Records the node ready with its slice of the container network, which it answers. */
  private async register(request: RegisterRequest__Output): Promise<string> {
    const name = request.nodeName;
    const now = new Date().toISOString();
    const resources = (r: { cpuMillis: number; memoryBytes: number } | null) => ({ cpu: r?.cpuMillis ?? 0, memory: r?.memoryBytes ?? 0 });
    const status = { capacity: resources(request.capacity), allocatable: resources(request.allocatable), ready: true, lastHeartbeat: now };
    // The lease first: a Node written ready without a live lease would be marked NotReady at once.
    await this.leases.grant(name);
    const existing = await this.store.get<Node>('Node', 'default', name);
    const podCIDR = await this.podCidrs.forNode(name, existing?.spec.podCIDR);
    const spec = { address: request.address, agentPort: request.agentPort, podCIDR };
    if (existing) {
      await this.store.mutate<Node>('Node', 'default', name, (n) => ({
        ...n, metadata: { ...n.metadata, labels: request.labels }, spec: { ...n.spec, ...spec }, status,
      }));
    } else {
      await this.store.create<Node>({ apiVersion: 'tide/v1', kind: 'Node', metadata: { name, namespace: 'default', labels: request.labels }, spec, status });
    }
    if (!existing?.status?.ready) await this.events.record({ kind: 'Node', namespace: 'default', name }, 'Normal', 'NodeReady', `node registered from ${request.address} (pod CIDR ${podCIDR})`);
    return podCIDR;
  }

  private watch(stream: Stream): void {
    const node = stream.request.nodeName;
    this.streams.set(stream, { node, last: '' });
    stream.on('cancelled', () => this.streams.delete(stream));
    stream.on('close', () => this.streams.delete(stream));
    void this.push(stream);
  }

  /** Replica changes come in bursts: recompute the streams once per burst. */
  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      for (const stream of this.streams.keys()) void this.push(stream);
    }, 20);
  }

  private async push(stream: Stream): Promise<void> {
    const entry = this.streams.get(stream);
    if (!entry) return;
    const { items, revision } = await this.store.list<Replica>('Replica');
    const replicas = items.filter((r) => r.spec.nodeName === entry.node && !r.metadata.deletionTimestamp && r.status?.lastExit?.reason !== 'NodeLost');
    const message: Assignments = { replicas: replicas.map(toAssignment), revision, nodes: await this.otherSlices(entry.node) };
    const text = canonicalJson([message.replicas, message.nodes]);
    if (text === entry.last) return;
    entry.last = text;
    stream.write(message);
  }

  private async otherSlices(node: string): Promise<NodeSlice[]> {
    const { items } = await this.store.list<Node>('Node');
    return items.filter((n) => n.metadata.name !== node && n.spec.podCIDR)
      .map((n) => ({ nodeName: n.metadata.name, address: n.spec.address, podCidr: n.spec.podCIDR! }))
      .sort((a, b) => a.nodeName.localeCompare(b.nodeName));
  }

  private async report(report: StatusReport__Output): Promise<void> {
    for (const status of report.replicas) await this.applyStatus(report.nodeName, status);
    // A terminating replica the agent does not report has no container there (any more): it is gone.
    const reported = new Set(report.replicas.map((r) => `${r.namespace}/${r.name}`));
    const { items } = await this.store.list<Replica>('Replica');
    for (const r of items) {
      if (r.spec.nodeName === report.nodeName && r.metadata.deletionTimestamp && !reported.has(`${r.metadata.namespace}/${r.metadata.name}`)) {
        await this.store.delete('Replica', r.metadata.namespace, r.metadata.name, r.metadata.resourceVersion).catch(() => undefined);
      }
    }
    for (const key of report.gone) {
      const [namespace, name] = key.split('/');
      const replica = await this.store.get<Replica>('Replica', namespace, name);
      if (replica && (replica.metadata.deletionTimestamp || replica.spec.nodeName !== report.nodeName)) {
        await this.store.delete('Replica', namespace, name, replica.metadata.resourceVersion).catch(() => undefined);
      }
    }
  }

  private async applyStatus(node: string, reported: ReplicaStatus__Output): Promise<void> {
    let before: Replica | undefined;
    await this.store.mutate<Replica>('Replica', reported.namespace, reported.name, (r) => {
      if (r.spec.nodeName !== node) return undefined;
      before = structuredClone(r);
      const status = reportedStatus(r, reported);
      if (canonicalJson(status) === canonicalJson(r.status ?? {})) return undefined;
      r.status = status;
      return r;
    }).catch((error) => {
      if (!(error instanceof NotFoundError)) throw error;
    });
    const exit = reported.lastExit;
    if (before && exit && reported.restartCount > (before.status?.restartCount ?? 0)) {
      await this.events.record({ kind: 'Replica', namespace: reported.namespace, name: reported.name },
        'Warning', exit.reason || 'Exited', `container exited (${exit.hasCode ? `code ${exit.code}` : exit.signal || 'unknown'}); restart ${reported.restartCount}`);
    }
  }
}

/** What the node agent is told to run for a replica (exported for its test). */
export function toAssignment(replica: Replica): Assignment {
  const t = replica.spec.template;
  return {
    namespace: replica.metadata.namespace, name: replica.metadata.name, service: replica.spec.service, templateHash: replica.spec.templateHash,
    container: {
      image: t.image, command: t.command, args: t.args, env: t.env, workingDir: t.workingDir ?? '',
      cpuLimitMillis: t.limits.cpuMillis ?? 0, memoryLimitBytes: t.limits.memoryBytes ?? 0, pidsLimit: t.limits.pids ?? 0,
      cpuRequestMillis: t.requests.cpuMillis, memoryRequestBytes: t.requests.memoryBytes, restartPolicy: t.restartPolicy,
      terminationGracePeriodSeconds: t.terminationGracePeriodSeconds, network: t.network,
      user: t.user ?? '', readOnlyRootFilesystem: t.readOnlyRootFilesystem ?? false,
      ports: t.ports.map((p) => ({ name: p.name ?? '', containerPort: p.containerPort, publish: p.publish ?? 0 })),
      ...(t.probes ? { probes: toProbes(t.probes) } : {}),
    },
  };
}

function toProbes(probes: Probes<ResolvedProbe>): ProbesMessage {
  const toProbe = (p: ResolvedProbe | undefined): Probe | null => (p ? {
    httpGet: p.httpGet ?? null, tcpSocket: p.tcpSocket ?? null, exec: p.exec ?? null,
    initialDelaySeconds: p.initialDelaySeconds, periodSeconds: p.periodSeconds, timeoutSeconds: p.timeoutSeconds,
    successThreshold: p.successThreshold, failureThreshold: p.failureThreshold,
  } : null);
  return { readiness: toProbe(probes.readiness), liveness: toProbe(probes.liveness), startup: toProbe(probes.startup) };
}

function toStatus(error: unknown): grpc.ServiceError {
  return Object.assign(new Error((error as Error).message), { code: grpc.status.INTERNAL, details: (error as Error).message, metadata: new grpc.Metadata() });
}
