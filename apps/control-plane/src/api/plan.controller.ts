/**
 * `POST /api/v1/diff` (what `tsctl apply` would change, as `tsctl diff` shows it) and
 * `GET /api/v1/version` (docs/REFERENCE.md, HTTP API).
 */
import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { TIDE_VERSION } from '@tide/api';
import { ApplyValidationError, applyDocuments } from './apply.service';
import { planObjects } from './apply.plan';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access, Authenticated } from '../auth/access.decorator';
import { diffRequests } from '../auth/resource.requests';

export type DiffAction = 'created' | 'changed' | 'unchanged';

export interface DiffResult {
  kind: string;
  namespace: string;
  name: string;
  action: DiffAction;
  /** Unified diff of the stored object's YAML against the would-be one (created: against nothing); a Secret's values as markers. */
  diff?: string;
  /** A changed ConfigMap or Secret: the paths that would change (`data.password`). */
  changedPaths?: string[];
}

@Controller('api/v1')
export class PlanController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  /** Body as apply's; validated, defaulted and compared as apply would, nothing written. `changed`: any object would change. */
  @Post('diff')
  @Access('get', 'services', diffRequests)
  @HttpCode(200)
  async diff(@Body() body: { documents?: unknown[] }): Promise<{ results: DiffResult[]; changed: boolean }> {
    if (!Array.isArray(body?.documents)) throw new BadRequestException({ error: 'body must be {"documents": [...]}', details: [] });
    try {
      const configs = this.cluster.configs?.store;
      const plan = planObjects(this.cluster.store, configs);
      const planned = await applyDocuments(this.cluster.store, body.documents, { ...(configs ? { configs } : {}), plan });
      const results = planned.map(({ action, ...rest }): DiffResult => ({ ...rest, action: action === 'configured' ? 'changed' : action }));
      return { results, changed: results.some((r) => r.action !== 'unchanged') };
    } catch (error) {
      if (error instanceof ApplyValidationError) throw new BadRequestException({ error: error.message.replace('applied', 'compared'), details: error.details });
      throw error;
    }
  }

  @Get('version')
  @Authenticated()
  version(): { version: string } {
    return { version: TIDE_VERSION };
  }
}
