/**
 * `GET|HEAD|PUT /api/v1/replicas/NAME/archive?namespace=NS&path=P[&copyUIDGID=1]` (contract: libs/api
 * archive.types.ts): copies files out of and into a running replica. The control plane finds the
 * replica's node, as for logs, and streams the request and the answer through to its agent's
 * `/v1/archive/NS/NAME` (node-agent archive.routes.ts), which works on the container's root file
 * system. Allowed to whoever may exec in the namespace: a copy reads and changes as much as an exec.
 */
import { BadGatewayException, BadRequestException, Controller, Get, Inject, Param, Put, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Readable } from 'node:stream';
import { PATH_STAT_HEADER } from '@tide/api';
import { nodeOfReplica } from './replica.node';
import { AgentError, agentOf, agentRequest } from './agent.client';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';
import { UploadLimit, UploadTooLarge, limitedUpload, tooLarge } from '../auth/body.limits';

/** Longest silence from the agent: a large directory is archived as it is read. */
const ARCHIVE_IDLE_MS = 60_000;

interface ArchiveQuery {
  name: string;
  namespace?: string;
  path?: string;
  copyUIDGID?: string;
}

@Controller('api/v1/replicas')
export class ArchiveController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  /** A tar of the path; HEAD (which Express routes here too) its stat alone. */
  @Get(':name/archive')
  @Access('create', 'replicas/exec')
  async read(@Param('name') name: string, @Req() req: Request, @Res() res: Response, @Query('namespace') namespace?: string, @Query('path') path?: string): Promise<void> {
    await this.forward(req.method === 'HEAD' ? 'HEAD' : 'GET', { name, namespace, path }, res);
  }

  /** Body: a tar, extracted into the directory at the path. */
  @Put(':name/archive')
  @Access('create', 'replicas/exec')
  async write(
    @Param('name') name: string, @Req() req: Request, @Res() res: Response,
    @Query('namespace') namespace?: string, @Query('path') path?: string, @Query('copyUIDGID') copyUIDGID?: string,
  ): Promise<void> {
    await this.forward('PUT', { name, namespace, path, copyUIDGID }, res, limitedUpload(req));
  }

  private async forward(method: string, query: ArchiveQuery, res: Response, body?: UploadLimit): Promise<void> {
    const ns = query.namespace || 'default';
    if (!query.path) throw new BadRequestException({ error: 'path: give the path in the replica, e.g. path=/etc/hostname', details: [] });
    const node = await nodeOfReplica(this.cluster.store, ns, query.name, 'files to copy');
    const params = new URLSearchParams({ path: query.path, ...(query.copyUIDGID ? { copyUIDGID: query.copyUIDGID } : {}) });
    const upstream = await agentRequest(agentOf(node, this.cluster.agentCredentials()), method, `/v1/archive/${encodeURIComponent(ns)}/${encodeURIComponent(query.name)}?${params}`, {
      idleTimeoutMs: ARCHIVE_IDLE_MS, ...(body ? { body: body as Readable, headers: { 'Content-Type': 'application/x-tar' } } : {}),
    }).catch((error: AgentError) => {
      if (body?.exceeded) throw tooLarge(new UploadTooLarge(body.limit));
      throw new BadGatewayException({ error: error.message, details: [] });
    });
    res.status(upstream.statusCode ?? 502);
    for (const header of ['content-type', PATH_STAT_HEADER]) {
      const value = upstream.headers[header];
      if (value !== undefined) res.setHeader(header, value);
    }
    res.on('close', () => upstream.destroy());
    upstream.pipe(res);
  }
}
