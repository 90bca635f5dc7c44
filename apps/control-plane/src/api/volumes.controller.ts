/**
 * GET /api/v1/volumes[?namespace=NS|all]: the named local volumes (docs/REFERENCE.md), each with the
 * node holding it, its size as that node's agent last reported it, and the replicas using it. Read
 * from the cache: nodes report their volumes with their heartbeats (libs/control local.volumes.ts).
 *
 * DELETE /api/v1/volumes/NAME[?namespace=NS]: deletes the volume and its data on every node that
 * holds it (each Ready agent's `DELETE /v1/local-volumes/NS/NAME`), refused (409, naming them) while
 * a Service of the namespace mounts it: a Service scaled to 0 would make it again, empty, at its next
 * start. A node that holds it and is not Ready is a 502 naming it; what was deleted elsewhere stays
 * deleted, and the call can be made again.
 */
import { BadGatewayException, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { LocalVolumeView } from '@tide/api';
import { localVolumeKey, localVolumeViews } from '@tide/control';
import { agentJson, onEveryAgent, readyAgents } from './agent.client';
import { CLUSTER, ClusterContext } from './cluster.context';
import { freshOrStale } from './stale.read';
import { Access } from '../auth/access.decorator';

/** Longest silence from an agent deleting a volume (a large tree takes a while to unlink). */
const DELETE_IDLE_MS = 60_000;

@Controller('api/v1')
export class VolumesController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Get('volumes')
  @Access('list', 'volumes')
  async volumes(@Res({ passthrough: true }) res: Response, @Query('namespace') namespace?: string): Promise<{ items: LocalVolumeView[] }> {
    const cache = await freshOrStale(this.cluster, res);
    const ns = namespace === 'all' ? undefined : namespace || 'default';
    const replicas = cache.list('Replica').filter((r) => ns === undefined || r.metadata.namespace === ns);
    const items = localVolumeViews(cache.list('Node'), replicas);
    return { items: ns === undefined ? items : items.filter((v) => v.namespace === ns) };
  }

  @Delete('volumes/:name')
  @HttpCode(204)
  @Access('delete', 'volumes')
  async remove(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<void> {
    const ns = namespace || 'default';
    const cache = this.cluster.cache;
    await cache.fresh();
    const users = cache.list('Service')
      .filter((s) => s.metadata.namespace === ns && s.spec.volumes?.some((v) => v.localVolume?.name === name))
      .map((s) => s.metadata.name).sort();
    if (users.length > 0) throw new ConflictException({ error: `volume "${name}" is in use by service ${users.join(', ')} in namespace ${ns}: delete those first (or change their volumes)`, details: [] });
    // Every Ready node is asked, not only those whose report shows it: a volume made since a node's
    // last heartbeat is not in its report yet.
    const key = localVolumeKey(ns, name);
    const reported = cache.list('Node').filter((n) => n.status?.localVolumes?.some((v) => localVolumeKey(v.namespace, v.name) === key)).map((n) => n.metadata.name);
    const agents = await readyAgents(cache, this.cluster.agentCredentials());
    const unreachable = reported.filter((node) => !agents.some((a) => a.node === node));
    if (unreachable.length) throw new BadGatewayException({ error: `volume "${name}" is on node ${unreachable.join(', ')}, which is not Ready: try again once it is`, details: [] });
    const path = `/v1/local-volumes/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
    const results = await onEveryAgent(agents, (agent) => agentJson(agent, 'DELETE', path, { idleTimeoutMs: DELETE_IDLE_MS }));
    const failed = results.filter((r) => !r.ok && r.status !== 404);
    const inUse = failed.filter((r) => !r.ok && r.status === 409);
    if (inUse.length) throw new ConflictException({ error: inUse.map((r) => `node ${r.node}: ${!r.ok ? r.error : ''}`).join('; '), details: [] });
    if (failed.length) throw new BadGatewayException({ error: failed.map((r) => `node ${r.node}: ${!r.ok ? r.error : ''}`).join('; '), details: [] });
    if (!results.some((r) => r.ok)) throw new NotFoundException({ error: `volume "${name}" not found in namespace ${ns}`, details: [] });
  }
}
