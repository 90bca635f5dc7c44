/**
 * ConfigMaps and Secrets under /api/v1 (apply writes them, with the Services: api.controller.ts).
 * A Secret's values are shown only when asked (`?reveal=1`) by a role that may write Secrets
 * (edit, admin): otherwise every value reads `<redacted>`, its keys and type still shown, and a view
 * role that asks to see them gets a 403. Reads go to etcd (one namespace, in pages), not to the
 * config cache: they are rare and must show the caller's own writes.
 */
import { BadRequestException, Controller, Delete, ForbiddenException, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ConfigMap, Secret, redactSecret } from '@tide/api';
import { Subject, authorize } from '@tide/auth';
import { ConfigStore } from '@tide/store';
import { Access } from '../auth/access.decorator';
import { CLUSTER, ClusterContext, ConfigContext } from './cluster.context';

function namespaceOf(query: string | undefined): string | undefined {
  return query === 'all' ? undefined : query || 'default';
}

function reveals(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new BadRequestException({ error: `reveal: must be 1, true, 0 or false, got "${value}"`, details: [] });
}

@Controller('api/v1')
export class ConfigObjectsController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  private get configs(): ConfigContext {
    if (!this.cluster.configs) throw new NotFoundException({ error: 'this control plane keeps no ConfigMaps or Secrets', details: [] });
    return this.cluster.configs;
  }

  private get store(): ConfigStore {
    return this.configs.store;
  }

  @Get('configmaps')
  @Access('list', 'configmaps')
  async configMaps(@Query('namespace') namespace?: string): Promise<{ items: ConfigMap[] }> {
    return { items: await this.store.list<ConfigMap>('ConfigMap', namespaceOf(namespace)) };
  }

  @Get('configmaps/:name')
  @Access('get', 'configmaps')
  async configMap(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<ConfigMap> {
    return found(await this.store.get<ConfigMap>('ConfigMap', namespace || 'default', name), `configmap "${name}"`, namespace);
  }

  @Delete('configmaps/:name')
  @Access('delete', 'configmaps')
  async deleteConfigMap(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<{ deleted: string }> {
    if (!(await this.store.delete('ConfigMap', namespace || 'default', name))) throw notFound(`configmap "${name}"`, namespace);
    return { deleted: `configmap/${name}` };
  }

  @Get('secrets')
  @Access('list', 'secrets')
  async secrets(@Res({ passthrough: true }) res: Response, @Query('namespace') namespace?: string, @Query('reveal') reveal?: string): Promise<{ items: Secret[] }> {
    const show = this.mayReveal(res, namespaceOf(namespace) ?? '*', reveals(reveal));
    const items = await this.store.list<Secret>('Secret', namespaceOf(namespace));
    return { items: show ? items : items.map(redactSecret) };
  }

  @Get('secrets/:name')
  @Access('get', 'secrets')
  async secret(@Res({ passthrough: true }) res: Response, @Param('name') name: string, @Query('namespace') namespace?: string, @Query('reveal') reveal?: string): Promise<Secret> {
    const ns = namespace || 'default';
    const show = this.mayReveal(res, ns, reveals(reveal));
    const secret = found(await this.store.get<Secret>('Secret', ns, name), `secret "${name}"`, ns);
    return show ? secret : redactSecret(secret);
  }

  @Delete('secrets/:name')
  @Access('delete', 'secrets')
  async deleteSecret(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<{ deleted: string }> {
    if (!(await this.store.delete('Secret', namespace || 'default', name))) throw notFound(`secret "${name}"`, namespace);
    return { deleted: `secret/${name}` };
  }

  /**
   * Reads the key file again (a rotation put a new key first) and rewrites every Secret an older
   * key sealed with the new one: afterwards an old key may be dropped from the file.
   */
  @Post('secrets/reencrypt')
  @Access('update', 'secrets/reencrypt')
  @HttpCode(200)
  async reencrypt(): Promise<{ writer: string; rewritten: number; current: number }> {
    const writer = this.configs.reloadKeys();
    return { writer, ...(await this.store.reencryptSecrets()) };
  }

  /** Values are shown only when asked, and only to a role that may write Secrets in the namespace. */
  private mayReveal(res: Response, namespace: string, asked: boolean): boolean {
    if (!asked) return false;
    const subject = res.locals.subject as Subject | undefined;
    const decision = authorize(subject, { verb: 'update', resource: 'secrets', namespace });
    if (!decision.allowed) throw new ForbiddenException({ error: `reveal: Secret values are shown only to a role that may write Secrets (edit or admin): ${decision.reason}`, details: [] });
    return true;
  }
}

function notFound(what: string, namespace?: string): NotFoundException {
  return new NotFoundException({ error: `${what} not found in namespace "${namespace || 'default'}"`, details: [] });
}

function found<T>(value: T | undefined, what: string, namespace?: string): T {
  if (value === undefined) throw notFound(what, namespace);
  return value;
}
