/**
 * GET /api/v1/volumes[?namespace=NS|all]: the named local volumes (docs/REFERENCE.md), each with the
 * node holding it, its size as that node's agent last reported it, and the replicas using it. Read
 * from the cache: nodes report their volumes with their heartbeats (libs/control local.volumes.ts).
 */
import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { LocalVolumeView } from '@tide/api';
import { localVolumeViews } from '@tide/control';
import { CLUSTER, ClusterContext } from './cluster.context';
import { freshOrStale } from './stale.read';
import { Access } from '../auth/access.decorator';

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
}
