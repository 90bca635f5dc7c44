/**
 * Rollout routes (docs/REFERENCE.md, HTTP API): a Service's revision history and the undo that
 * applies one of its templates again. Progress is the Service's own status (`tsctl rollout status`).
 */
import {
  BadRequestException, Body, Controller, ForbiddenException, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { RollbackResult, Service, ServiceRevision, replicaTemplate, specEquals, specWithTemplate, templateHash } from '@tide/api';
import { adminOnlyFields, authorize, type Subject } from '@tide/auth';
import { ConflictError } from '@tide/store';
import { EventRecorder } from '../controllers/events.recorder';
import { listRevisions } from '../controllers/revision.history';
import { CLUSTER, ClusterContext } from './cluster.context';
import { RESTARTED_AT } from './apply.service';
import { Access } from '../auth/access.decorator';

@Controller('api/v1/services')
export class RolloutController {
  private readonly events: EventRecorder;

  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {
    this.events = new EventRecorder(cluster.store, 'api', cluster.eventLeases);
  }

  @Get(':name/revisions')
  @Access('list', 'services/revisions')
  async revisions(@Param('name') name: string, @Query('namespace') namespace?: string): Promise<{ items: ServiceRevision[] }> {
    const ns = namespace || 'default';
    await this.service(ns, name);
    return { items: await listRevisions(this.cluster.store, ns, name) };
  }

  /**
   * Body `{ "revision"?: N }`: that revision's template (default: the one before the current) becomes
   * the Service's. The template is written as an apply would write it, so it passes apply's check: an
   * admin-only field in it (host network, Unconfined seccomp, a host path...) is a 403 naming the field
   * for any other role, whoever wrote that revision first, and nothing changes.
   */
  @Post(':name/rollback')
  @Access('create', 'services/rollback')
  @HttpCode(200)
  async rollback(
    @Param('name') name: string, @Body() body: { revision?: unknown }, @Res({ passthrough: true }) res: Response, @Query('namespace') namespace?: string,
  ): Promise<RollbackResult> {
    const ns = namespace || 'default';
    const wanted = body?.revision;
    if (wanted !== undefined && (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 1)) {
      throw badRequest('revision', `must be a revision number ≥ 1, got ${JSON.stringify(wanted)}`);
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.service(ns, name);
      const revisions = await listRevisions(this.cluster.store, ns, name);
      const hash = templateHash(replicaTemplate(current));
      const target = wanted === undefined ? revisions.filter((r) => r.spec.templateHash !== hash).pop() : revisions.find((r) => r.spec.revision === wanted);
      if (!target) throw badRequest('revision', noSuchRevision(name, wanted, revisions));
      const next: Service = { ...current, spec: specWithTemplate(current.spec, target.spec.template) };
      if (specEquals(current, next)) return { service: name, revision: target.spec.revision, action: 'unchanged' };
      if (!(await this.writeAdmitted(res, current, next, `rollback to revision ${target.spec.revision}`))) continue;
      await this.events.record({ kind: 'Service', namespace: ns, name }, 'Normal', 'RollingBack',
        `rolling back to the template of revision ${target.spec.revision} (it becomes a new revision)`);
      return { service: name, revision: target.spec.revision, action: 'rolledBack' };
    }
    throw new ConflictError(`service ${ns}/${name} keeps changing concurrently; try again`);
  }

  /**
   * `tsctl rollout restart`: a new `tide/restartedAt` annotation in the template, so the replicas are
   * replaced as for any template change (rolling, by spec.update). Admitted as an apply of that template.
   */
  @Post(':name/restart')
  @Access('update', 'services')
  @HttpCode(200)
  async restart(@Param('name') name: string, @Res({ passthrough: true }) res: Response, @Query('namespace') namespace?: string): Promise<{ service: string; restartedAt: string }> {
    const ns = namespace || 'default';
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.service(ns, name);
      const restartedAt = new Date().toISOString();
      const next: Service = { ...current, spec: { ...current.spec, annotations: { ...current.spec.annotations, [RESTARTED_AT]: restartedAt } } };
      if (!(await this.writeAdmitted(res, current, next, 'restart'))) continue;
      await this.events.record({ kind: 'Service', namespace: ns, name }, 'Normal', 'Restarting', `restart asked at ${restartedAt}: the replicas roll to a new template`);
      return { service: name, restartedAt };
    }
    throw new ConflictError(`service ${ns}/${name} keeps changing concurrently; try again`);
  }

  /** Admitted as an apply of `next`, written if `current` is still the stored one (false: it changed, read again), then the controllers woken. */
  private async writeAdmitted(res: Response, current: Service, next: Service, what: string): Promise<boolean> {
    admitAsApply(res, next, what);
    try {
      await this.cluster.store.update(next, current);
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
    this.cluster.kick();
    return true;
  }

  private async service(namespace: string, name: string): Promise<Service> {
    const service = await this.cluster.store.get<Service>('Service', namespace, name);
    if (!service) throw new NotFoundException({ error: `service "${name}" not found in namespace "${namespace}"`, details: [] });
    return service;
  }
}

/**
 * The template is written as an apply would write it, so it passes apply's check: an admin-only
 * field in it is a 403 naming the field for any other role, and nothing changes.
 */
function admitAsApply(res: Response, next: Service, what: string): void {
  const { namespace, name } = next.metadata;
  const allowed = authorize(res.locals.subject as Subject, { verb: 'update', resource: 'services', namespace, name, adminFields: adminOnlyFields(next) });
  if (!allowed.allowed) throw new ForbiddenException({ error: `${what}: ${allowed.reason}`, details: [] });
}

function noSuchRevision(name: string, wanted: number | undefined, revisions: ServiceRevision[]): string {
  const known = revisions.map((r) => r.spec.revision).join(', ') || 'none';
  return wanted === undefined
    ? `service "${name}" has no earlier revision to go back to (revisions: ${known})`
    : `revision ${wanted} not found in the history of service "${name}" (revisions: ${known})`;
}

function badRequest(path: string, message: string): BadRequestException {
  return new BadRequestException({ error: `${path}: ${message}`, details: [{ document: 0, path, message }] });
}
