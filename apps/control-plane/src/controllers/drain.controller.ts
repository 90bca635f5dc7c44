/**
 * Empties the nodes marked `spec.drain` (a user's drain, or consolidation) by moving their replicas,
 * surge first: a replacement is created (the scheduler never places it on a node being emptied), and
 * the service controller stops the old replica once the replacement is ready. Level-triggered: all
 * it knows is the Node's marker and the replicas' `spec.replaces`, so a restart mid-drain carries on.
 */
import { Node, NodeDrain, Replica, Service } from '@tide/api';
import { cancelledMoves, drainProgress, movesToStart, replacementFor } from '@tide/control';
import { AlreadyExistsError, ClusterCache, NotFoundError, ObjectStore } from '@tide/store';
import { EventRecorder } from './events.recorder';

export class DrainController {
  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly cache: ClusterCache,
  ) {}

  /** Reads the cache (once it holds every write committed so far): a pass lists nothing from etcd. */
  async sync(): Promise<void> {
    await this.cache.fresh();
    const nodes = this.cache.list('Node');
    const replicas = this.cache.list('Replica');
    await this.withdrawCancelledMoves(nodes, replicas);
    for (const node of nodes) if (node.spec.drain) await this.drainNode(node, replicas);
  }

  private async drainNode(node: Node, replicas: Replica[]): Promise<void> {
    const drain = node.spec.drain!;
    const progress = drainProgress(node, replicas);
    if (progress.empty) return this.finish(node, drain);
    for (const item of movesToStart(progress, drain.reason)) {
      const old = replicas.find((r) => r.metadata.namespace === item.namespace && r.metadata.name === item.replica)!;
      const service = this.cache.get('Service', item.namespace, item.service);
      // A replica whose Service is gone is being stopped by the service controller: nothing to move.
      if (service) await this.startMove(node, drain, service, old);
    }
  }

  private async startMove(node: Node, drain: NodeDrain, service: Service, old: Replica): Promise<void> {
    const replacement = replacementFor(service, old, drain.reason, node.metadata.name);
    try {
      await this.store.create(replacement);
    } catch (error) {
      // Same name as an earlier attempt still being removed, or another control plane's: never two moves.
      if (error instanceof AlreadyExistsError) return;
      throw error;
    }
    await this.events.record({ kind: 'Replica', namespace: old.metadata.namespace, name: old.metadata.name }, 'Normal', 'Moving',
      `${drain.reason} of node ${node.metadata.name}: replacement ${replacement.metadata.name} created; this replica stops once it is ready`);
  }

  /** The node is empty: the marker goes (a drained node stays cordoned; a consolidated one can be handed back). */
  private async finish(node: Node, drain: NodeDrain): Promise<void> {
    const name = node.metadata.name;
    let cleared = false;
    await this.store.mutate<Node>('Node', 'default', name, (n) => {
      if (n.spec.drain?.startedAt !== drain.startedAt || n.spec.drain.reason !== drain.reason) return undefined;
      delete n.spec.drain;
      cleared = true;
      return n;
    }).catch(ignoreNotFound);
    if (!cleared) return;
    const message = drain.reason === 'Drain'
      ? `every replica moved off; the node stays cordoned ("tsctl uncordon ${name}" to use it again)`
      : 'every replica moved to other nodes: the node is empty and can be handed back';
    await this.events.record({ kind: 'Node', namespace: 'default', name }, 'Normal', drain.reason === 'Drain' ? 'Drained' : 'Consolidated', message);
  }

  /** Withdraws the unplaced replacements of moves off nodes no longer being emptied (cancelledMoves). */
  private async withdrawCancelledMoves(nodes: Node[], replicas: Replica[]): Promise<void> {
    for (const r of cancelledMoves(nodes, replicas)) {
      const { namespace, name } = r.metadata;
      if (!(await this.store.delete('Replica', namespace, name, r.metadata.resourceVersion).catch(() => false))) continue;
      await this.events.record({ kind: 'Replica', namespace, name: r.spec.replaces!.replica }, 'Normal', 'MoveCancelled',
        `node ${r.spec.replaces!.fromNode} is no longer being emptied: replacement ${name} withdrawn before it was placed`);
    }
  }
}

function ignoreNotFound(error: unknown): undefined {
  if (error instanceof NotFoundError) return undefined;
  throw error;
}

