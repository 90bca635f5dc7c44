/**
 * The AgentService gRPC server: nodes register, heartbeat (their etcd lease), receive the complete
 * set of replicas desired on them as a stream, and report status.
 */
import * as grpc from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { Node, Probes, Replica, ResolvedProbe, canonicalJson } from '@tide/api';
import {
  AgentServiceHandlers, Assignment, Assignments, Endpoints, HeartbeatRequest__Output, NodeSlice, Probe, Probes as ProbesMessage,
  RegisterRequest__Output, StatusReport__Output, loadAgentProto,
} from '@tide/proto';
import { CacheChange, ClusterCache, NodeLeases, ObjectStore } from '@tide/store';
import { EventRecorder } from './controllers/events.recorder';
import { EndpointsPublisher } from './endpoints/endpoints.publisher';
import { PodCidrAllocator } from './network/pod-cidr.allocator';
import { applyStatusReport } from './status.report';
import { UsageCache } from './usage/usage.cache';

type Stream = grpc.ServerWritableStream<{ nodeName: string }, Assignments>;

const REFRESH_MS = 20;
const SLICES_REFRESH_MS = 1000;

export class AgentGrpcServer {
  private readonly logger = new Logger('AgentGrpc');
  private readonly server = new grpc.Server();
  private readonly streams = new Map<Stream, { node: string; last: string; slicesVersion: number }>();
  /** Every node's slice, sorted, recomputed once per change of the node set (not once per stream). */
  private slices?: NodeSlice[];
  private slicesVersion = 0;
  private lastSlicesRefresh = 0;
  private refreshTimer?: NodeJS.Timeout;
  private slicesTimer?: NodeJS.Timeout;
  /** Nodes whose assignments may have changed since the last refresh; `all` after a change of slices. */
  private dirty = new Set<string>();
  private all = false;
  private unsubscribe?: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly leases: NodeLeases,
    private readonly events: EventRecorder,
    private readonly podCidrs: PodCidrAllocator,
    private readonly heartbeatIntervalMs: number,
    private readonly cache: ClusterCache,
    private readonly endpoints: EndpointsPublisher,
    private readonly usage?: UsageCache,
  ) {}

  async listen(address: string): Promise<void> {
    const proto = loadAgentProto();
    this.server.addService(proto.tide.v1.AgentService.service, this.handlers());
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    this.unsubscribe = this.cache.onChange((change) => this.changed(change));
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.refreshTimer);
    clearTimeout(this.slicesTimer);
    for (const stream of this.streams.keys()) stream.end();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handlers(): AgentServiceHandlers {
    return {
      Register: (call, callback) => this.register(call.request).then((podCidr) => callback(null, {
        leaseTtlSeconds: this.leases.ttlSeconds, heartbeatIntervalMs: this.heartbeatIntervalMs, podCidr, clusterCidr: this.podCidrs.clusterCidr,
      }), (error) => callback(toStatus(error))),
      Heartbeat: (call, callback) => this.heartbeat(call.request).then((known) => callback(null, { known }), (error) => callback(toStatus(error))),
      WatchAssignments: (call) => this.watch(call as unknown as Stream),
      ReportStatus: (call, callback) => this.report(call.request).then(() => callback(null, {}), (error) => callback(toStatus(error))),
      ReportUsage: (call, callback) => {
        this.usage?.record(call.request);
        callback(null, {});
      },
      WatchEndpoints: (call) => this.endpoints.watch(call as unknown as grpc.ServerWritableStream<{ nodeName: string }, Endpoints>),
    };
  }

  /** Records the node ready with its slice of the container network, which it answers. */
  private async register(request: RegisterRequest__Output): Promise<string> {
    const name = request.nodeName;
    const now = new Date().toISOString();
    const resources = (r: { cpuMillis: number; memoryBytes: number } | null) => ({ cpu: r?.cpuMillis ?? 0, memory: r?.memoryBytes ?? 0 });
    const status = {
      capacity: resources(request.capacity), allocatable: resources(request.allocatable), ready: true, lastHeartbeat: now, images: [...request.images].sort(),
    };
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

  /** Renews the node's lease; a heartbeat that carries the node's images records them on the Node. */
  private async heartbeat(request: HeartbeatRequest__Output): Promise<boolean> {
    const known = await this.leases.renew(request.nodeName);
    if (known && request.images) await this.recordImages(request.nodeName, [...request.images.refs].sort());
    return known;
  }

  private async recordImages(name: string, images: string[]): Promise<void> {
    if (canonicalJson(this.cache.get('Node', 'default', name)?.status?.images ?? []) === canonicalJson(images)) return;
    await this.store.mutate<Node>('Node', 'default', name, (n) => {
      if (!n.status || canonicalJson(n.status.images ?? []) === canonicalJson(images)) return undefined;
      n.status = { ...n.status, images };
      return n;
    });
  }

  private watch(stream: Stream): void {
    const node = stream.request.nodeName;
    this.streams.set(stream, { node, last: '', slicesVersion: -1 });
    stream.on('cancelled', () => this.streams.delete(stream));
    stream.on('close', () => this.streams.delete(stream));
    this.push(stream);
  }

  /** Which streams a change concerns: a replica's node (before and after), or every node for slices. */
  private changed(change: CacheChange): void {
    if (change.kind === 'Replica') {
      // Status reports are most replica changes and leave every assignment as it was.
      if (sameAssignment(change.previous, change.current)) return;
      if (change.previous?.spec.nodeName) this.dirty.add(change.previous.spec.nodeName);
      if (change.current?.spec.nodeName) this.dirty.add(change.current.spec.nodeName);
    } else if (change.kind === 'resync' || (change.kind === 'Node' && sliceOf(change.previous) !== sliceOf(change.current))) {
      // Nodes joining (or getting a new address) change every agent's routes to the other slices.
      this.all = true;
      this.slices = undefined;
    } else {
      return;
    }
    this.scheduleRefresh();
  }

  /**
   * Replica changes come in bursts: recompute the concerned streams once per burst (20 ms). A change
   * of slices goes to every stream, each message carrying every slice; while nodes join one after
   * another that is at most once a second, or 500 nodes joining cost 500 × 500 × 500 slices sent.
   */
  private scheduleRefresh(): void {
    if (this.all && !this.slicesTimer) {
      const delayMs = Math.max(REFRESH_MS, this.lastSlicesRefresh + SLICES_REFRESH_MS - Date.now());
      this.slicesTimer = setTimeout(() => {
        this.slicesTimer = undefined;
        this.all = false;
        this.lastSlicesRefresh = Date.now();
        for (const stream of this.streams.keys()) this.push(stream);
      }, delayMs);
    }
    if (this.dirty.size === 0 || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      const dirty = this.dirty;
      this.dirty = new Set();
      for (const [stream, entry] of this.streams) if (dirty.has(entry.node)) this.push(stream);
    }, REFRESH_MS);
  }

  private push(stream: Stream): void {
    const entry = this.streams.get(stream);
    if (!entry) return;
    const replicas = this.cache.replicasOn(entry.node)
      .filter((r) => !r.metadata.deletionTimestamp && r.status?.lastExit?.reason !== 'NodeLost')
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
      .map(toAssignment);
    const text = canonicalJson(replicas);
    const slices = this.allSlices();
    if (text === entry.last && entry.slicesVersion === this.slicesVersion) return;
    entry.last = text;
    entry.slicesVersion = this.slicesVersion;
    stream.write({ replicas, revision: this.cache.revision, nodes: slices.filter((slice) => slice.nodeName !== entry.node) });
  }

  private allSlices(): NodeSlice[] {
    if (this.slices) return this.slices;
    this.slicesVersion++;
    this.slices = this.cache.list('Node').filter((n) => n.spec.podCIDR)
      .map((n) => ({ nodeName: n.metadata.name, address: n.spec.address, podCidr: n.spec.podCIDR! }))
      .sort((a, b) => a.nodeName.localeCompare(b.nodeName));
    return this.slices;
  }

  private async report(report: StatusReport__Output): Promise<void> {
    await applyStatusReport(this.store, this.cache, this.events, report);
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

/** What push() sends for a replica is the same before and after (where, whether, and what it runs). */
function sameAssignment(previous: Replica | undefined, current: Replica | undefined): boolean {
  if (!previous || !current) return false;
  const sent = (r: Replica) => `${r.spec.nodeName ?? ''}|${r.spec.templateHash}|${r.metadata.deletionTimestamp ? 1 : 0}|${r.status?.lastExit?.reason === 'NodeLost' ? 1 : 0}`;
  return sent(previous) === sent(current);
}

function sliceOf(node: Node | undefined): string {
  return node ? `${node.spec.address}|${node.spec.podCIDR ?? ''}` : '';
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
