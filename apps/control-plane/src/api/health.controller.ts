import { Controller, Get, Header, Inject } from '@nestjs/common';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access, Public } from '../auth/access.decorator';

@Controller()
export class HealthController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Get('healthz')
  @Public()
  healthz(): { ok: true; leader: boolean } {
    return { ok: true, leader: this.cluster.isLeader() };
  }

  @Get('metrics')
  @Access('get', 'metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.cluster.metrics.registry.metrics();
  }
}
