/**
 * Monitoring routes: Prometheus service discovery (GET /api/v1/discovery/prometheus) and the
 * agents' resource usage (GET /api/v1/usage/nodes, /api/v1/usage/replicas[?namespace=NS|all]).
 */
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { NodeUsage, ReplicaUsage } from '@tide/api';
import { PrometheusTargetGroup, prometheusTargets } from '../monitoring/prometheus.discovery';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';

@Controller('api/v1')
export class MonitoringController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  /** The http_sd_config answer: a JSON list of target groups. */
  @Get('discovery/prometheus')
  @Access('get', 'discovery')
  async prometheus(): Promise<PrometheusTargetGroup[]> {
    await this.cluster.cache.fresh();
    return prometheusTargets(this.cluster.cache.list('Node'));
  }

  @Get('usage/nodes')
  @Access('list', 'usage/nodes')
  nodeUsage(): { items: NodeUsage[] } {
    return { items: this.cluster.usage.nodeUsage() };
  }

  @Get('usage/replicas')
  @Access('list', 'usage/replicas')
  replicaUsage(@Query('namespace') namespace?: string): { items: ReplicaUsage[] } {
    const ns = namespace === 'all' ? undefined : namespace || 'default';
    return { items: this.cluster.usage.replicaUsage().filter((r) => ns === undefined || r.namespace === ns) };
  }
}
