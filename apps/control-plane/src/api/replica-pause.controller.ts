/**
 * `POST /api/v1/replicas/NAME/pause` and `/unpause` (docs/REFERENCE.md): sets the Replica's
 * spec.paused; the replica's node freezes its container (the cgroup freezer) and reports it Paused,
 * not ready, so that it leaves every endpoint list, until unpaused. Idempotent: pausing a paused
 * replica changes nothing. A replica that does not run (unscheduled, finished, being deleted) cannot
 * be paused: 409 saying why.
 */
import { ConflictException, Controller, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { Replica } from '@tide/api';
import { EventRecorder } from '../controllers/events.recorder';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';

@Controller('api/v1/replicas')
export class ReplicaPauseController {
  private readonly events: EventRecorder;

  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {
    this.events = new EventRecorder(cluster.store, 'api', cluster.eventLeases);
  }

  @Post(':name/pause')
  @Access('update', 'replicas/pause')
  @HttpCode(200)
  pause(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<Replica> {
    return this.setPaused(namespace || 'default', name, true);
  }

  @Post(':name/unpause')
  @Access('update', 'replicas/pause')
  @HttpCode(200)
  unpause(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<Replica> {
    return this.setPaused(namespace || 'default', name, false);
  }

  private async setPaused(namespace: string, name: string, paused: boolean): Promise<Replica> {
    const current = await this.cluster.store.get<Replica>('Replica', namespace, name);
    if (!current) throw new NotFoundException({ error: `replica "${name}" not found in namespace "${namespace}"`, details: [] });
    let changed = false;
    const stored = await this.cluster.store.mutate<Replica>('Replica', namespace, name, (replica) => {
      if ((replica.spec.paused === true) === paused) return undefined;
      const refusal = paused ? whyNotPausable(replica) : undefined;
      if (refusal) throw new ConflictException({ error: `replica "${name}" cannot be paused: ${refusal}`, details: [] });
      changed = true;
      const { paused: _was, ...spec } = replica.spec;
      return { ...replica, spec: paused ? { ...spec, paused: true } : spec };
    });
    if (changed) {
      await this.events.record({ kind: 'Replica', namespace, name }, 'Normal', paused ? 'Pausing' : 'Unpausing',
        paused ? `pause asked: node ${stored.spec.nodeName} freezes its container` : `unpause asked: node ${stored.spec.nodeName} thaws its container`).catch(() => undefined);
    }
    return stored;
  }
}

/** Only a replica that runs, or is about to on its node, has processes to freeze. */
export function whyNotPausable(replica: Replica): string | undefined {
  if (replica.metadata.deletionTimestamp) return 'it is being deleted';
  if (!replica.spec.nodeName) return 'it is not scheduled on a node yet';
  const phase = replica.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return `it is not running (phase ${phase})`;
  return undefined;
}
