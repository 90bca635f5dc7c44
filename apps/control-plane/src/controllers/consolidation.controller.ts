/**
 * Trough consolidation: after a scale-in (and on every pass), looks for a node whose replicas fit on
 * the other nodes in use (consolidation.plan.ts) and marks it `spec.drain = Consolidation`; the
 * drain controller then moves its replicas with the move primitive, a bounded number at a time, and
 * clears the mark once the node is empty. A node must stay the best candidate for `delaySeconds`
 * before it is marked, so a cluster in motion is left alone. It gives up on a node when a replica
 * cannot be placed (the cluster needs the room after all) or when consolidation is turned off.
 */
import { Node, Replica } from '@tide/api';
import { consolidationCancelled, findConsolidation } from '@tide/control';
import { ClusterCache, NotFoundError, ObjectStore } from '@tide/store';
import { EventRecorder } from './events.recorder';

export interface ConsolidationSettings {
  enabled: boolean;
  /** How long a node must stay the one to empty before consolidation starts moving its replicas. */
  delaySeconds: number;
}

export class ConsolidationController {
  private candidate: { node: string; since: number } | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly settings: ConsolidationSettings,
    private readonly cache: ClusterCache,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the cache (once it holds every write committed so far): a pass lists nothing from etcd. */
  async sync(): Promise<void> {
    await this.cache.fresh();
    const nodes = this.cache.list('Node');
    const replicas = this.cache.list('Replica');
    const active = nodes.find((n) => n.spec.drain?.reason === 'Consolidation');
    if (active) return this.watch(active, replicas);
    if (!this.settings.enabled) return;
    const services = this.cache.list('Service');
    const found = findConsolidation(nodes, replicas, services);
    if (!found) return void (this.candidate = undefined);
    if (this.candidate?.node !== found.node) return void (this.candidate = { node: found.node, since: this.now() });
    if (this.now() - this.candidate.since < this.settings.delaySeconds * 1000) return;
    this.candidate = undefined;
    const marked = await this.setMark(found.node, true);
    if (!marked) return;
    const plan = found.moves.map((m) => `${m.replica.metadata.name} → ${m.to}`).join(', ');
    await this.events.record({ kind: 'Node', namespace: 'default', name: found.node }, 'Normal', 'Consolidating',
      `its ${found.moves.length} replica(s) fit on the other nodes in use: moving them (surge first) so that the node becomes empty: ${plan}`);
  }

  /** A consolidation under way stops when it is turned off, or when a replica finds no node. */
  private async watch(node: Node, replicas: Replica[]): Promise<void> {
    const reason = consolidationCancelled(this.settings.enabled, replicas);
    if (!reason || !(await this.setMark(node.metadata.name, false))) return;
    await this.events.record({ kind: 'Node', namespace: 'default', name: node.metadata.name }, 'Normal', 'ConsolidationCancelled',
      `${reason}; replicas not yet moved stay on the node`);
  }

  /** Sets or clears the consolidation mark; false when the node changed meanwhile (cordoned, drained, gone). */
  private async setMark(name: string, on: boolean): Promise<boolean> {
    let changed = false;
    await this.store.mutate<Node>('Node', 'default', name, (n) => {
      if (on ? n.spec.drain || n.spec.cordoned || !n.status?.ready : n.spec.drain?.reason !== 'Consolidation') return undefined;
      if (on) n.spec.drain = { reason: 'Consolidation', startedAt: new Date(this.now()).toISOString() };
      else delete n.spec.drain;
      changed = true;
      return n;
    }).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error;
    });
    return changed;
  }
}
