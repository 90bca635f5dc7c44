/**
 * Marks nodes whose lease expired NotReady, and after the grace period fails their replicas with
 * reason NodeLost so that the service controller replaces them elsewhere (libs/control's
 * node.lifecycle.plan.ts decides; evictions pause while the control plane looks cut off).
 */
import { Node, Replica } from '@tide/api';
import { NodeGrace, evictionsPaused, holdsResources, nodeLifecycleAction } from '@tide/control';
import { ClusterCache, ObjectStore } from '@tide/store';
import { EventRecorder } from './events.recorder';
import { HostAnswers } from './host.probe';

export class NodeLifecycleController {
  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly grace: { seconds: number; agentDownSeconds: number },
    private readonly cache: ClusterCache,
    private readonly warn: (line: string) => void = () => undefined,
    private readonly hosts = new HostAnswers(),
    /** A probe answered: the loop should look again (the runner's kick). */
    private readonly kick: () => void = () => undefined,
  ) {}

  /** The reason evictions last paused for, logged once per change. */
  private paused?: string;

  async sync(): Promise<void> {
    // The liveness keys as the cache follows them (etcd deletes a key when its lease expires).
    const alive = this.cache.aliveNodes();
    const nodes: Node[] = this.cache.list('Node');
    const paused = evictionsPaused(nodes, alive);
    if (paused !== this.paused) {
      this.paused = paused;
      this.warn(paused ? `replicas of NotReady nodes are not replaced for now: ${paused}` : 'enough nodes are Ready: replicas of lost nodes are replaced again');
    }
    const now = Date.now();
    const grace: NodeGrace = { hostSilentMs: this.grace.seconds * 1000, hostAnswersMs: this.grace.agentDownSeconds * 1000 };
    for (const node of nodes) {
      const name = node.metadata.name;
      const lapsed = !alive.has(name);
      // While its lease is gone, is its host still up? (Which grace applies.)
      if (!lapsed) this.hosts.forget(name);
      const answers = lapsed ? this.hosts.of(name, node.spec.address, node.spec.agentPort, this.kick) : undefined;
      const action = nodeLifecycleAction(node, !lapsed, now, grace, answers);
      if (action.type === 'not-ready') await this.setReady(node, false);
      // Heartbeats resumed (or the lease was granted just after the node was written): ready again.
      else if (action.type === 'ready') await this.setReady(node, true);
      else if (action.type === 'evict' && !paused) await this.evict(name, answers === false);
    }
  }

  private async setReady(node: Node, ready: boolean): Promise<void> {
    const name = node.metadata.name;
    const now = new Date().toISOString();
    let changed = false;
    await this.store.mutate<Node>('Node', 'default', name, (n) => {
      // The cache may lag a write of ours by a moment: never restart the grace period.
      if ((n.status?.ready ?? false) === ready) return undefined;
      changed = true;
      const { notReadySince: _since, message: _message, ...status } = n.status!;
      n.status = ready ? { ...status, ready: true, lastHeartbeat: now }
        : { ...status, ready: false, notReadySince: now, message: 'no heartbeat from its agent: the node lease expired' };
      return n;
    });
    if (!changed) return;
    await this.events.record({ kind: 'Node', namespace: 'default', name }, ready ? 'Normal' : 'Warning', ready ? 'NodeReady' : 'NodeNotReady',
      ready ? 'heartbeats resumed' : 'the node\'s lease expired: no heartbeat from its agent');
  }

  private async evict(node: string, hostSilent: boolean): Promise<void> {
    const why = hostSilent ? `its host does not answer, NotReady past --node-grace-seconds ${this.grace.seconds}`
      : `its host answers but its agent does not, NotReady past --agent-down-grace-seconds ${this.grace.agentDownSeconds}`;
    const replicas: Replica[] = this.cache.replicasOn(node);
    for (const replica of replicas) {
      const { namespace, name } = replica.metadata;
      if (replica.metadata.deletionTimestamp) {
        // Its agent is gone and cannot confirm the stop; the node's own agent cleans up if it returns.
        await this.store.delete('Replica', namespace, name).catch(() => undefined);
        continue;
      }
      if (!holdsResources(replica)) continue;
      await this.store.mutate<Replica>('Replica', namespace, name, (r) => {
        r.status = { ...(r.status ?? { restartCount: 0 }), phase: 'Failed', ready: false, message: `node ${node} lost`,
          lastExit: { code: null, signal: null, reason: 'NodeLost', finishedAt: new Date().toISOString() } };
        return r;
      }).catch(() => undefined);
      await this.events.record({ kind: 'Replica', namespace, name }, 'Warning', 'NodeLost', `node ${node} lost (${why}); replacing the replica`);
    }
  }
}
