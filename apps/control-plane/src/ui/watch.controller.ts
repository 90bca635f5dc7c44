/**
 * `GET /api/v1/services/NAME/history`: the last hour of a service's numbers for the dashboard's chart,
 * and its scheduled floors ahead.
 * `GET /api/v1/watch[?namespace=NS|all]`: the dashboard's live view as server-sent events
 * (text/event-stream; docs/REFERENCE.md): `event: snapshot` first, then `event: changes` batches
 * (dashboard.stream.ts). Authenticated and authorised like every route: the caller must be allowed
 * to watch Services and Replicas in the namespace and Nodes; the nodes' usage (`event: usage`) goes
 * to those who may also read `usage/nodes`. The dashboard reads it with fetch and
 * an Authorization header (never a token in the URL, so none lands in logs or history).
 */
import { Controller, Get, Inject, NotFoundException, Param, Query, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { authorize, subjectName, type ResourceRequest, type Subject } from '@tide/auth';
import { resolvePolicy, scheduledFloors, type ScheduledFloor } from '@tide/autoscaler';
import type { DashboardPermissions, NodeUsage, NodeUsageView } from '@tide/api';
import { CLUSTER, ClusterContext } from '../api/cluster.context';
import { Access } from '../auth/access.decorator';
import { namespaceOfQuery } from '../auth/resource.requests';
import { freshOrStale } from '../api/stale.read';
import { DashboardStream } from './dashboard.stream';
import { ServiceHistory, type HistoryPoint } from './service.history';

/** How far ahead the service page lists the scheduled floors. */
const FLOORS_AHEAD_MS = 7 * 86_400_000;

/** What a dashboard needs to read: Services and Replicas of the namespace, and Nodes. */
export function watchRequests(req: Pick<Request, 'query'>): ResourceRequest[] {
  const namespace = namespaceOfQuery(req.query?.namespace);
  return [
    { verb: 'watch', resource: 'services', namespace },
    { verb: 'watch', resource: 'replicas', namespace },
    { verb: 'watch', resource: 'nodes' },
  ];
}

/** The actions the dashboard offers this caller: those libs/auth would allow (the API checks each call again). */
export function dashboardPermissions(subject: Subject, namespace: string): DashboardPermissions {
  const may = (request: ResourceRequest) => authorize(subject, request).allowed;
  return {
    scale: may({ verb: 'update', resource: 'services/scale', namespace }),
    rollback: may({ verb: 'create', resource: 'services/rollback', namespace }),
    cordon: may({ verb: 'update', resource: 'nodes/cordon' }),
    drain: may({ verb: 'create', resource: 'nodes/drain' }),
  };
}

/** `tsctl top nodes`' numbers as the dashboard shows them: millicores and bytes. */
export function nodeUsageViews(usage: NodeUsage[]): NodeUsageView[] {
  return usage.map((node) => ({ name: node.node, cpu: Math.round(node.cpuCores * 1000), memory: node.memoryWorkingSetBytes }));
}

@Controller('api/v1')
export class WatchController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext, private readonly history: ServiceHistory) {}

  /**
   * The last hour of the service's numbers, as this control plane saw them (service.history.ts),
   * and the floors its autoscaler's schedules will raise over the coming week (two of each at most).
   */
  @Get('services/:name/history')
  @Access('get', 'services')
  serviceHistory(@Param('name') name: string, @Query('namespace') namespace?: string): { points: HistoryPoint[]; scheduledFloors: ScheduledFloor[] } {
    const ns = namespace || 'default';
    const service = this.cluster.cache.get('Service', ns, name);
    if (!service) throw new NotFoundException({ error: `service "${name}" not found in namespace "${ns}"`, details: [] });
    const autoscale = service.spec.autoscale;
    return {
      points: this.history.points(ns, name),
      scheduledFloors: autoscale?.schedules?.length ? scheduledFloors(resolvePolicy(autoscale), Date.now(), FLOORS_AHEAD_MS) : [],
    };
  }

  @Get('watch')
  @Access('watch', 'services', watchRequests)
  async watch(@Res() res: Response, @Query('namespace') query?: string): Promise<void> {
    const namespace = namespaceOfQuery(query);
    const subject = res.locals.subject as Subject;
    // The cache holds the caller's own writes before the snapshot is taken, as the list routes do;
    // with etcd unreachable the stream starts from the cache as it is, marked X-Tide-Stale.
    await freshOrStale(this.cluster, res);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      // A buffering proxy in between would hold the batches back.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const stream = new DashboardStream(this.cluster.cache, {
      write: (chunk) => res.write(chunk),
      onDrain: (callback) => res.once('drain', callback),
    }, {
      ...(namespace === '*' ? {} : { namespace }),
      subject: subjectName(subject),
      may: dashboardPermissions(subject, namespace),
      ...(authorize(subject, { verb: 'list', resource: 'usage/nodes' }).allowed ? { usage: () => nodeUsageViews(this.cluster.usage.nodeUsage()) } : {}),
    });
    if (res.destroyed) return; // the caller left while the cache caught up
    stream.start();
    res.on('close', () => stream.stop());
  }
}
