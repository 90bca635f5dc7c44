/**
 * One scheduling cycle: snapshot nodes and replicas, place every Pending replica with the
 * bin-packing engine, commit the bindings in etcd transactions that compare each replica's revision
 * (a conflicting replica is simply tried again next cycle), and record why the rest did not fit.
 */
import { Node, Replica, canonicalJson } from '@tide/api';
import { NodeInfo, PendingReplica, hostPortsOf, scheduleBatch } from '@tide/scheduler';
import { ObjectStore } from '@tide/store';
import { ControlPlaneMetrics } from '../metrics';
import { EventRecorder } from './events.recorder';
import { isTerminating } from './service.plan';

/** etcd allows 128 operations per transaction by default. */
const MAX_TXN_OPS = 100;

export function holdsResources(replica: Replica): boolean {
  const phase = replica.status?.phase;
  return replica.spec.nodeName !== undefined && phase !== 'Succeeded' && phase !== 'Failed';
}

export function nodeInfos(nodes: Node[], replicas: Replica[]): NodeInfo[] {
  const infos = new Map<string, NodeInfo>(nodes.map((node) => [node.metadata.name, {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    allocatable: node.status?.allocatable ?? { cpu: 0, memory: 0 },
    requested: { cpu: 0, memory: 0 },
    ready: node.status?.ready ?? false,
    // A node being emptied (drain, consolidation) takes no new replicas, as a cordoned one.
    cordoned: (node.spec.cordoned ?? false) || node.spec.drain !== undefined,
    replicasOfService: {},
    hostPorts: new Set<number>(),
    // Nodes do not report their images yet; a node that runs a replica has that replica's image.
    images: new Set<string>(),
  }]));
  for (const replica of replicas) {
    const info = replica.spec.nodeName ? infos.get(replica.spec.nodeName) : undefined;
    if (!info || !holdsResources(replica)) continue;
    info.requested.cpu += replica.spec.template.requests.cpuMillis;
    info.requested.memory += replica.spec.template.requests.memoryBytes;
    const key = `${replica.metadata.namespace}/${replica.spec.service}`;
    info.replicasOfService![key] = (info.replicasOfService![key] ?? 0) + 1;
    for (const port of hostPortsOf(replica.spec.template)) (info.hostPorts as Set<number>).add(port);
    (info.images as Set<string>).add(replica.spec.template.image);
  }
  return [...infos.values()];
}

export class SchedulerLoop {
  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly metrics: ControlPlaneMetrics,
  ) {}

  async cycle(): Promise<void> {
    const stopTimer = this.metrics.schedulingCycle.startTimer();
    const nodes = (await this.store.list<Node>('Node')).items;
    const replicas = (await this.store.list<Replica>('Replica')).items;
    const pending = replicas.filter((r) => !r.spec.nodeName && !isTerminating(r));
    this.metrics.pendingReplicas.set(pending.length);
    if (pending.length === 0) return void stopTimer();
    const byName = new Map(pending.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]));
    const result = scheduleBatch(nodeInfos(nodes, replicas), pending.map(toPending));
    const bound = result.bindings.map(({ replica, node }) => {
      const r = structuredClone(byName.get(`${replica.namespace}/${replica.name}`)!);
      r.spec.nodeName = node;
      r.status = { phase: 'Scheduled', ready: false, restartCount: r.status?.restartCount ?? 0 };
      return r;
    });
    for (let i = 0; i < bound.length; i += MAX_TXN_OPS) {
      const chunk = bound.slice(i, i + MAX_TXN_OPS);
      const committed = await this.store.updateAll(chunk);
      this.metrics.schedulingAttempts.inc({ result: committed ? 'scheduled' : 'conflict' }, chunk.length);
      if (committed) for (const r of chunk) await this.recordScheduled(r);
    }
    for (const u of result.unschedulable) {
      this.metrics.schedulingAttempts.inc({ result: 'unschedulable' });
      await this.markUnschedulable(byName.get(`${u.replica.namespace}/${u.replica.name}`)!, u.summary, u.reasons);
    }
    stopTimer();
  }

  private async recordScheduled(replica: Replica): Promise<void> {
    await this.events.record({ kind: 'Replica', namespace: replica.metadata.namespace, name: replica.metadata.name },
      'Normal', 'Scheduled', `assigned to node ${replica.spec.nodeName}`);
  }

  private async markUnschedulable(replica: Replica, summary: string, reasons: Record<string, string>): Promise<void> {
    const unschedulable = { summary, nodes: reasons };
    if (canonicalJson(replica.status?.unschedulable ?? {}) === canonicalJson(unschedulable)) return;
    const { namespace, name } = replica.metadata;
    await this.store.mutate<Replica>('Replica', namespace, name, (r) => {
      if (r.spec.nodeName) return undefined;
      r.status = { ...(r.status ?? { phase: 'Pending', ready: false, restartCount: 0 }), unschedulable, message: summary };
      return r;
    }).catch(() => undefined);
    await this.events.record({ kind: 'Replica', namespace, name }, 'Warning', 'FailedScheduling', summary);
  }
}

export function toPending(replica: Replica): PendingReplica {
  return {
    namespace: replica.metadata.namespace,
    name: replica.metadata.name,
    service: replica.spec.service,
    cpu: replica.spec.template.requests.cpuMillis,
    memory: replica.spec.template.requests.memoryBytes,
    image: replica.spec.template.image,
    hostPorts: hostPortsOf(replica.spec.template),
    ...(replica.spec.template.nodeSelector ? { nodeSelector: replica.spec.template.nodeSelector } : {}),
  };
}
