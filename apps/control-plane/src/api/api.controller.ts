/** The HTTP API under /api/v1 (docs/REFERENCE.md). */
import {
  BadGatewayException, BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Put, Query, Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { Node, Replica, Service } from '@tide/api';
import { CachedKind, CachedObject, ClusterCache } from '@tide/store';
import { ApplyResult, ApplyValidationError, applyDocuments } from './apply.service';
import { planObjects } from './apply.plan';
import { scaleService } from '../controllers/service.scale';
import { deleteServiceAndRevisions } from '../controllers/revision.history';
import { agentOf, agentRequest } from './agent.client';
import { freshOrStale, readThroughCache } from './stale.read';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';
import { applyRequests } from '../auth/resource.requests';
import { serviceConfigHash } from '../controllers/config.controller';

/** Time for the agent to answer a logs request (then the stream may idle as long as it likes). */
const LOGS_CONNECT_TIMEOUT_MS = 10_000;

function namespaceOf(query: string | undefined): string | undefined {
  return query === 'all' ? undefined : query || 'default';
}

@Controller('api/v1')
export class ApiController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  private get store() {
    return this.cluster.store;
  }

  @Post('apply')
  @Access('update', 'services', applyRequests)
  @HttpCode(200)
  async apply(@Body() body: { documents?: unknown[]; force?: unknown; dryRun?: unknown }): Promise<{ results: ApplyResult[]; dryRun?: true }> {
    if (!Array.isArray(body?.documents)) throw new BadRequestException({ error: 'body must be {"documents": [...], "force"?: boolean, "dryRun"?: boolean}', details: [] });
    if (body.force !== undefined && typeof body.force !== 'boolean') throw new BadRequestException({ error: 'force: must be true or false', details: [] });
    if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') throw new BadRequestException({ error: 'dryRun: must be true or false', details: [] });
    // A dry run is checked and admitted as the apply (same route, same rights) and writes nothing (apply.plan.ts).
    const dryRun = body.dryRun === true;
    try {
      const configs = this.cluster.configs;
      const results = await applyDocuments(this.store, body.documents, {
        known: (namespace, name) => this.cluster.cache.get('Service', namespace, name) !== undefined, force: body.force === true,
        ...(configs ? {
          configs: configs.store,
          configHash: (service, applied) => serviceConfigHash(service, (key) => configs.cache.get(key), configs.digestKey(), applied),
        } : {}),
        ...(dryRun ? { plan: planObjects(this.store, configs?.store) } : {}),
      });
      if (dryRun) return { results, dryRun: true };
      this.cluster.kick();
      return { results };
    } catch (error) {
      if (error instanceof ApplyValidationError) throw new BadRequestException({ error: error.message, details: error.details });
      throw error;
    }
  }

  @Get('services')
  @Access('list', 'services')
  async services(@Res({ passthrough: true }) res: Response, @Query('namespace') namespace?: string): Promise<{ items: Service[] }> {
    return { items: await this.cached(res, 'Service', namespaceOf(namespace)) };
  }

  @Get('services/:name')
  @Access('get', 'services')
  async service(@Res({ passthrough: true }) res: Response, @Param('name') name: string, @Query('namespace') namespace?: string): Promise<Service> {
    return found(await this.readThrough(res, 'Service', namespace || 'default', name), `service "${name}"`, namespace);
  }

  @Delete('services/:name')
  @Access('delete', 'services')
  async deleteService(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<{ deleted: string }> {
    const ns = namespace || 'default';
    // One transaction: a failure (etcd unavailable) leaves the Service and its history as they were,
    // so that "nothing was written" in the 503 is true, and a retry finds the Service to delete.
    if (!(await deleteServiceAndRevisions(this.store, ns, name))) throw notFound(`service "${name}"`, ns);
    this.cluster.kick();
    return { deleted: `service/${name}` };
  }

  @Put('services/:name/scale')
  @Access('update', 'services/scale')
  async scale(@Param('name') name: string, @Body() body: { replicas?: unknown }, @Query('namespace') namespace?: string): Promise<Service> {
    const replicas = body?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > 10_000) {
      throw new BadRequestException({ error: 'replicas: must be an integer between 0 and 10000', details: [{ document: 0, path: 'replicas', message: 'must be an integer between 0 and 10000' }] });
    }
    const ns = namespace || 'default';
    if (!(await this.store.get<Service>('Service', ns, name))) throw notFound(`service "${name}"`, ns);
    const updated = await scaleService(this.store, ns, name, replicas);
    this.cluster.kick();
    return updated!;
  }

  @Get('replicas')
  @Access('list', 'replicas')
  async replicas(@Res({ passthrough: true }) res: Response, @Query('namespace') namespace?: string, @Query('service') service?: string): Promise<{ items: Replica[] }> {
    const ns = namespaceOf(namespace);
    if (service && ns) return { items: sortByKey(await this.freshCache(res).then((cache) => cache.replicasOf(ns, service))) };
    const items = await this.cached(res, 'Replica', ns);
    return { items: service ? items.filter((r) => r.spec.service === service) : items };
  }

  @Get('replicas/:name')
  @Access('get', 'replicas')
  async replica(@Res({ passthrough: true }) res: Response, @Param('name') name: string, @Query('namespace') namespace?: string): Promise<Replica> {
    return found(await this.readThrough(res, 'Replica', namespace || 'default', name), `replica "${name}"`, namespace);
  }

  @Get('replicas/:name/logs')
  @Access('get', 'replicas/logs')
  async logs(@Param('name') name: string, @Res() res: Response, @Query() params: Record<string, string | undefined>): Promise<void> {
    const ns = params.namespace || 'default';
    const replica = found(await this.store.get<Replica>('Replica', ns, name), `replica "${name}"`, ns);
    if (!replica.spec.nodeName) throw new BadRequestException({ error: `replica "${name}" is not scheduled yet: no logs`, details: [] });
    const node = found(await this.store.get<Node>('Node', 'default', replica.spec.nodeName), `node "${replica.spec.nodeName}"`);
    const agent = agentOf(node, this.cluster.agentCredentials());
    const path = `/v1/logs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}${agentLogQuery(params)}`;
    const upstream = await agentRequest(agent, 'GET', path, { idleTimeoutMs: LOGS_CONNECT_TIMEOUT_MS }).catch((error: Error) => {
      throw new BadGatewayException({ error: error.message, details: [] });
    });
    upstream.setTimeout(0); // a followed log may stay quiet for a long time
    res.status(upstream.statusCode ?? 502).type('text/plain');
    res.on('close', () => upstream.destroy());
    upstream.pipe(res);
  }

  /** Exec is an upgrade (exec.proxy.ts); a plain GET gets told so instead of a 404. */
  @Get('replicas/:name/exec')
  @Access('create', 'replicas/exec')
  execWithoutUpgrade(): never {
    throw new BadRequestException({ error: 'exec needs an HTTP/1.1 upgrade ("Connection: Upgrade", "Upgrade: tide-exec"): use "tsctl exec"', details: [] });
  }

  @Get('nodes')
  @Access('list', 'nodes')
  async nodes(@Res({ passthrough: true }) res: Response): Promise<{ items: Node[] }> {
    return { items: await this.cached(res, 'Node') };
  }

  /**
   * The cache once it has seen every write committed before this request (a caller's own apply
   * included); while etcd is unavailable, the cache as it is, the answer marked stale (stale.read.ts).
   */
  private async freshCache(res: Response): Promise<ClusterCache> {
    return freshOrStale(this.cluster, res);
  }

  /** One object from etcd; while etcd is unavailable, the cache's copy marked stale (or the 503). */
  private async readThrough<K extends CachedKind>(res: Response, kind: K, namespace: string, name: string): Promise<CachedObject<K> | undefined> {
    return readThroughCache(this.cluster, res, kind, namespace, name);
  }

  /** A kind's objects from the cache (of one namespace when given), in key order as etcd lists them. */
  private async cached<K extends CachedKind>(res: Response, kind: K, namespace?: string): Promise<CachedObject<K>[]> {
    const items = (await this.freshCache(res)).list(kind);
    return sortByKey(namespace === undefined || kind === 'Node' ? items : items.filter((o) => o.metadata.namespace === namespace));
  }

  @Get('nodes/:name')
  @Access('get', 'nodes')
  async node(@Res({ passthrough: true }) res: Response, @Param('name') name: string): Promise<Node> {
    return found(await this.readThrough(res, 'Node', 'default', name), `node "${name}"`);
  }
}

/** etcd's order (namespace, then name), which the API answered in when it listed etcd. */
export function sortByKey<T extends { metadata: { namespace: string; name: string } }>(items: T[]): T[] {
  const key = (o: T) => `${o.metadata.namespace}/${o.metadata.name}`;
  return items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function notFound(what: string, namespace?: string): NotFoundException {
  return new NotFoundException({ error: `${what} not found${namespace ? ` in namespace "${namespace}"` : ''}`, details: [] });
}

function found<T>(value: T | undefined, what: string, namespace?: string): T {
  if (value === undefined) throw notFound(what, namespace);
  return value;
}

/** The agent's log parameters, passed on as given (the agent checks them and answers 400 naming one it cannot read). */
function agentLogQuery(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const name of ['follow', 'tailLines', 'sinceTime', 'previous']) {
    const value = params[name];
    if (typeof value === 'string' && value !== '') query.set(name, value);
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}
