/**
 * Cordon, uncordon and drain (docs/REFERENCE.md, HTTP API). The routes only change the Node's
 * spec; the drain controller does the moving, so a drain goes on if the caller goes away, and
 * `GET .../drain` reports how far it has come.
 */
import { Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { DrainProgress, Node } from '@tide/api';
import { drainProgress } from '@tide/control';
import { NotFoundError } from '@tide/store';
import { EventRecorder } from '../controllers/events.recorder';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';

@Controller('api/v1/nodes')
export class NodesController {
  private readonly events: EventRecorder;

  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {
    this.events = new EventRecorder(cluster.store, 'api', cluster.eventLeases);
  }

  /**
   * `tsctl node delete NODE`: revokes every certificate of the node at once (its next call to the
   * agent endpoint, and its open streams, end with UNAUTHENTICATED), then removes the Node when no
   * replica is bound to it. One that still has replicas stays until they are replaced: its lease
   * expires without heartbeats, it goes NotReady, and after the grace period its replicas move.
   */
  @Delete(':name')
  @Access('delete', 'nodes')
  async remove(@Param('name') name: string): Promise<{ node: string; revoked: boolean; removed: boolean; message: string }> {
    const node = await this.cluster.store.get<Node>('Node', 'default', name);
    const revoked = await this.cluster.enrollment.revoke(name);
    if (!node && !revoked) throw notFound(name);
    // This instance's cache (what the gRPC endpoint checks) has the revocation before the answer.
    await this.cluster.cache.fresh();
    const bound = this.cluster.cache.replicasOn(name).length;
    let removed = false;
    if (node && bound === 0) {
      removed = await this.cluster.store.delete('Node', 'default', name, node.metadata.resourceVersion).then(() => true, () => false);
    }
    const message = !node ? 'its certificate is revoked'
      : removed ? 'its certificate is revoked and the node removed'
        : bound > 0 ? `its certificate is revoked; ${bound} replica(s) are still bound to it: they are replaced once it is NotReady for the grace period, then "tsctl node delete ${name}" again removes it`
          : `its certificate is revoked; the node changed meanwhile: "tsctl node delete ${name}" again removes it`;
    await this.events.record({ kind: 'Node', namespace: 'default', name }, 'Normal', 'NodeDeleted', message);
    this.cluster.kick();
    return { node: name, revoked, removed, message };
  }

  @Post(':name/cordon')
  @Access('update', 'nodes/cordon')
  @HttpCode(200)
  async cordon(@Param('name') name: string): Promise<Node> {
    return this.change(name, 'Cordoned', 'marked unschedulable: no new replica is placed on it', (n) => {
      if (n.spec.cordoned) return false;
      n.spec.cordoned = true;
      return true;
    });
  }

  /** Uncordon also cancels a drain or consolidation in progress: the node is usable again. */
  @Post(':name/uncordon')
  @Access('update', 'nodes/cordon')
  @HttpCode(200)
  async uncordon(@Param('name') name: string): Promise<Node> {
    return this.change(name, 'Uncordoned', 'schedulable again', (n) => {
      if (!n.spec.cordoned && !n.spec.drain) return false;
      n.spec.cordoned = false;
      delete n.spec.drain;
      return true;
    });
  }

  /** Cordons the node and asks for its replicas to be moved away (a consolidation under way becomes this drain). */
  @Post(':name/drain')
  @Access('create', 'nodes/drain')
  @HttpCode(200)
  async drain(@Param('name') name: string): Promise<DrainProgress> {
    const node = await this.change(name, 'Draining', 'cordoned; its replicas are moved to other nodes, each stopped once its replacement is ready', (n) => {
      if (n.spec.cordoned && n.spec.drain?.reason === 'Drain') return false;
      n.spec.cordoned = true;
      n.spec.drain = { reason: 'Drain', startedAt: new Date().toISOString() };
      return true;
    });
    return this.progressOf(node);
  }

  @Get(':name/drain')
  @Access('get', 'nodes/drain')
  async progress(@Param('name') name: string): Promise<DrainProgress> {
    const node = await this.cluster.store.get<Node>('Node', 'default', name);
    if (!node) throw notFound(name);
    return this.progressOf(node);
  }

  /** Stops moving replicas off the node; it stays cordoned, and moves already placed finish. */
  @Delete(':name/drain')
  @Access('delete', 'nodes/drain')
  async cancelDrain(@Param('name') name: string): Promise<DrainProgress> {
    const node = await this.change(name, 'DrainCancelled', 'no more replicas are moved off; the node stays cordoned', (n) => {
      if (!n.spec.drain) return false;
      delete n.spec.drain;
      return true;
    });
    return this.progressOf(node);
  }

  private async progressOf(node: Node): Promise<DrainProgress> {
    await this.cluster.cache.fresh();
    return drainProgress(node, this.cluster.cache.list('Replica'));
  }

  /** Applies `edit` (false: nothing to change) and records an event when the node changed. */
  private async change(name: string, reason: string, message: string, edit: (node: Node) => boolean): Promise<Node> {
    let changed = false;
    const node = await this.cluster.store.mutate<Node>('Node', 'default', name, (n) => {
      changed = edit(n);
      return changed ? n : undefined;
    }).catch((error: unknown) => {
      throw error instanceof NotFoundError ? notFound(name) : error;
    });
    if (changed) {
      this.cluster.kick();
      await this.events.record({ kind: 'Node', namespace: 'default', name }, 'Normal', reason, message);
    }
    return node;
  }
}

function notFound(name: string): NotFoundException {
  return new NotFoundException({ error: `node "${name}" not found`, details: [] });
}
