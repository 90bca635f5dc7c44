/**
 * Images across the cluster (docs/REFERENCE.md, HTTP API): each node keeps its own image store,
 * so the control plane fans requests out to the agents of the Ready nodes and answers per node.
 */
import {
  BadRequestException, ConflictException, Controller, Delete, Get, HttpCode, HttpException, Inject, NotFoundException, Param,
  Post, Query, Req, Res, ServiceUnavailableException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ClusterImage, NodeImage, NodeResult, Replica, imageReferenceProblem, mergeNodeImages, normalizeImageReference,
} from '@tide/api';
import { AgentTarget, agentJson, onEveryAgent, readyAgents } from './agent.client';
import { buildOnAgent } from './image.build';
import { importOnAgents, saveUpload } from './image.transfer';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';
import { UploadTooLarge, limitedUpload, tooLarge } from '../auth/body.limits';

/** How long an agent may stay silent: listing is quick, removing layers takes a moment. */
const LIST_TIMEOUT_MS = 5_000;
const REMOVE_TIMEOUT_MS = 30_000;

function failure(status: number, error: string, extra: Record<string, unknown> = {}): HttpException {
  return new HttpException({ error, details: [], ...extra }, status);
}

@Controller('api/v1/images')
export class ImagesController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  /** Body: an image archive. Every Ready node imports it; 400 when every node refused the archive itself. */
  @Post('import')
  @Access('create', 'images')
  @HttpCode(200)
  async importArchive(@Req() req: Request): Promise<{ results: NodeResult<NodeImage[]>[] }> {
    const upload = limitedUpload(req); // a declared length over the limit is refused before anything else
    const agents = await this.agents();
    const file = await saveUpload(upload).catch((error: unknown) => {
      throw error instanceof UploadTooLarge ? tooLarge(error) : error;
    });
    try {
      if ((await fs.promises.stat(file)).size === 0) throw new BadRequestException({ error: 'the request body is empty: send an image archive (tar)', details: [] });
      const results = await importOnAgents(file, agents);
      if (results.every((r) => !r.ok && r.status === 400)) throw failure(400, `${results[0].node}: ${results[0].error}`, { results });
      return { results };
    } finally {
      await fs.promises.rm(path.dirname(file), { recursive: true, force: true });
    }
  }

  /** One row per ref and id with the nodes that have it; nodes that did not answer are listed in `errors`. */
  @Get()
  @Access('list', 'images')
  async list(): Promise<{ items: ClusterImage[]; errors: NodeResult[] }> {
    const agents = await readyAgents(this.cluster.cache, this.cluster.agentCredentials());
    const results = await onEveryAgent(agents, (agent) => agentJson<{ items: NodeImage[] }>(agent, 'GET', '/v1/images', { idleTimeoutMs: LIST_TIMEOUT_MS }));
    const items = mergeNodeImages(results.filter((r) => r.ok).map((r) => ({ node: r.node, images: r.value?.items ?? [] })));
    return { items, errors: results.filter((r) => !r.ok).map(({ node, ok, error, status }) => ({ node, ok, error, status })) };
  }

  /** Refused (409) while a replica that is not being deleted runs the image; then removed on every Ready node. */
  @Delete(':ref')
  @Access('delete', 'images')
  async remove(@Param('ref') ref: string): Promise<{ results: NodeResult<'deleted' | 'absent'>[] }> {
    const problem = imageReferenceProblem(ref);
    if (problem) throw new BadRequestException({ error: problem, details: [] });
    const users = await this.replicasUsing(ref);
    if (users.length > 0) {
      const services = [...new Set(users.map((r) => `${r.metadata.namespace}/${r.spec.service}`))].sort();
      throw new ConflictException({ error: `image "${ref}" is in use by service${services.length > 1 ? 's' : ''} ${services.join(', ')}: delete or change ${services.length > 1 ? 'them' : 'it'} first`, details: [] });
    }
    const agents = await this.agents();
    const results = await onEveryAgent(agents, (agent) => removeOnAgent(agent, ref));
    if (results.every((r) => r.ok && r.value === 'absent')) throw new NotFoundException({ error: `image "${ref}" not found on any node`, details: [] });
    return { results };
  }

  /** Body: a tar of the build context. The log streams back as application/x-ndjson (image.build.ts). */
  @Post('build')
  @Access('create', 'images')
  async build(
    @Req() req: Request, @Res() res: Response, @Query('tag') tag?: string, @Query('dockerfile') dockerfile?: string, @Query('buildArg') buildArg?: string | string[],
  ): Promise<void> {
    const problem = imageReferenceProblem(tag ?? '');
    if (problem) throw new BadRequestException({ error: `tag: ${problem}`, details: [] });
    if (dockerfile !== undefined && (dockerfile === '' || path.isAbsolute(dockerfile) || dockerfile.split('/').includes('..'))) {
      throw new BadRequestException({ error: `dockerfile: "${dockerfile}" must be a path inside the build context`, details: [] });
    }
    const buildArgs = buildArg === undefined ? [] : [buildArg].flat().map(String);
    const bad = buildArgs.find((a) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a));
    if (bad !== undefined) throw new BadRequestException({ error: `buildArg: "${bad}" is not NAME=VALUE`, details: [] });
    const body = limitedUpload(req);
    const [builder, ...others] = await this.agents();
    // The builder pulls a FROM image it lacks from the cluster registry, as itself (nodes may pull).
    const registry = this.cluster.registry?.issuesTokens() ? this.cluster.registry.info.address : undefined;
    await buildOnAgent({ body, res, builder, others, tag: tag!, ...(dockerfile ? { dockerfile } : {}), buildArgs, ...(registry ? { registry } : {}) });
  }

  private async agents(): Promise<AgentTarget[]> {
    const agents = await readyAgents(this.cluster.cache, this.cluster.agentCredentials());
    if (agents.length === 0) throw new ServiceUnavailableException({ error: 'no node is Ready: start one ("tsctl up") or wait until it registers', details: [] });
    return agents;
  }

  private async replicasUsing(ref: string): Promise<Replica[]> {
    const wanted = normalizeImageReference(ref);
    await this.cluster.cache.fresh();
    const replicas = this.cluster.cache.list('Replica');
    return replicas.filter((r) => !r.metadata.deletionTimestamp && normalizeImageReference(r.spec.template.image) === wanted);
  }
}

async function removeOnAgent(agent: AgentTarget, ref: string): Promise<'deleted' | 'absent'> {
  try {
    await agentJson(agent, 'DELETE', `/v1/images/${encodeURIComponent(ref)}`, { idleTimeoutMs: REMOVE_TIMEOUT_MS });
    return 'deleted';
  } catch (error) {
    if ((error as { status?: number }).status === 404) return 'absent';
    throw error;
  }
}
