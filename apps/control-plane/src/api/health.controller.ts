import { Controller, Get, Header, Inject } from '@nestjs/common';
import { CLUSTER, ClusterContext } from './cluster.context';

@Controller()
export class HealthController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Get('healthz')
  healthz(): { ok: true; leader: boolean } {
    return { ok: true, leader: this.cluster.isLeader() };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.cluster.metrics.registry.metrics();
  }
}
