/**
 * Image lifecycle through the API (docs/REFERENCE.md):
 *   POST /api/v1/images/prune                         → { results: NodeResult<{ removed, freedBytes }>[] }
 *        every Ready node removes the images no replica on it uses (built-in base images stay)
 *   POST /api/v1/images/commit  { replica, namespace?, ref }  → { node, image }
 *        the replica's running container's changes become a new layer over its image, stored as
 *        `ref` on the replica's node (push it from there with `tsctl image push REF --node NODE`)
 *   POST /api/v1/images/tag  { source, target }        → { results: NodeResult<'tagged' | 'absent'>[] }
 *        every Ready node that has `source` names it `target` too (404 when none has it)
 *   GET  /api/v1/images/REF/history                   → { node, ref, id, history }
 *   GET  /api/v1/images/REF/inspect                   → { node, ref, id, manifest, created?, sizeBytes, layers, config }
 *        from the first Ready node that has the image
 */
import { BadRequestException, Body, Controller, Get, HttpCode, HttpException, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { NodeImage, NodeResult, imageReferenceProblem } from '@tide/api';
import { AgentError, AgentTarget, agentJson, agentOf, onEveryAgent, readyAgents } from './agent.client';
import { CLUSTER, ClusterContext } from './cluster.context';
import { Access } from '../auth/access.decorator';

/** Pruning removes layers, a commit writes one: the agent answers once it is done. */
const WORK_TIMEOUT_MS = 5 * 60_000;
const LIST_TIMEOUT_MS = 5_000;

interface HistoryAnswer {
  ref: string;
  id: string;
  history: { layer?: string; created?: string; createdBy: string; sizeBytes: number; comment?: string }[];
}

@Controller('api/v1/images')
export class ImageLifecycleController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Post('prune')
  @Access('delete', 'images')
  @HttpCode(200)
  async prune(): Promise<{ results: NodeResult<{ removed: string[]; freedBytes: number }>[] }> {
    const agents = await this.agents();
    return { results: await onEveryAgent(agents, (agent) => agentJson<{ removed: string[]; freedBytes: number }>(agent, 'POST', '/v1/images/prune', { idleTimeoutMs: WORK_TIMEOUT_MS })) };
  }

  @Post('commit')
  @Access('create', 'images')
  @HttpCode(200)
  async commit(@Body() body: { replica?: unknown; namespace?: unknown; ref?: unknown }): Promise<{ node: string; image: NodeImage }> {
    const replicaName = text(body?.replica, 'replica');
    const namespace = body?.namespace === undefined ? 'default' : text(body.namespace, 'namespace');
    const ref = text(body?.ref, 'ref');
    const problem = imageReferenceProblem(ref);
    if (problem) throw new BadRequestException({ error: `ref: ${problem}`, details: [{ document: 0, path: 'ref', message: problem }] });
    await this.cluster.cache.fresh();
    const replica = this.cluster.cache.get('Replica', namespace, replicaName);
    if (!replica) throw new NotFoundException({ error: `replica ${namespace}/${replicaName} not found`, details: [] });
    const node = replica.spec.nodeName ? this.cluster.cache.get('Node', 'default', replica.spec.nodeName) : undefined;
    if (!node?.status?.ready) throw new HttpException({ error: `replica ${namespace}/${replicaName} runs on no Ready node`, details: [] }, 409);
    const agent = agentOf(node, this.cluster.agentCredentials());
    const request = { body: Buffer.from(JSON.stringify({ namespace, name: replicaName, ref })), headers: { 'content-type': 'application/json' }, idleTimeoutMs: WORK_TIMEOUT_MS };
    const answer = await agentJson<{ image: NodeImage }>(agent, 'POST', '/v1/images/commit', request).catch(relay);
    return { node: agent.node, image: answer.image };
  }

  @Post('tag')
  @Access('create', 'images')
  @HttpCode(200)
  async tag(@Body() body: { source?: unknown; target?: unknown }): Promise<{ results: NodeResult<'tagged' | 'absent'>[] }> {
    const source = text(body?.source, 'source');
    const target = text(body?.target, 'target');
    for (const [field, ref] of [['source', source], ['target', target]]) {
      const problem = imageReferenceProblem(ref);
      if (problem) throw new BadRequestException({ error: `${field}: ${problem}`, details: [{ document: 0, path: field, message: problem }] });
    }
    const request = { body: Buffer.from(JSON.stringify({ source, target })), headers: { 'content-type': 'application/json' }, idleTimeoutMs: LIST_TIMEOUT_MS };
    const results = await onEveryAgent(await this.agents(), (agent) => agentJson(agent, 'POST', '/v1/images/tag', request).then(
      () => 'tagged' as const,
      (error: unknown) => {
        if ((error as { status?: number }).status === 404) return 'absent' as const;
        throw error;
      },
    ));
    if (results.every((r) => r.ok && r.value === 'absent')) throw new NotFoundException({ error: `image "${source}" not found on any Ready node`, details: [] });
    return { results };
  }

  @Get(':ref/history')
  @Access('list', 'images')
  async history(@Param('ref') ref: string): Promise<HistoryAnswer & { node: string }> {
    return this.fromFirstNodeWith<HistoryAnswer>(ref, 'history');
  }

  @Get(':ref/inspect')
  @Access('list', 'images')
  async inspect(@Param('ref') ref: string): Promise<Record<string, unknown> & { node: string }> {
    return this.fromFirstNodeWith<Record<string, unknown>>(ref, 'inspect');
  }

  /** An agent's answer about one image, from the first Ready node that has it. */
  private async fromFirstNodeWith<T>(ref: string, what: 'history' | 'inspect'): Promise<T & { node: string }> {
    const problem = imageReferenceProblem(ref);
    if (problem) throw new BadRequestException({ error: problem, details: [] });
    for (const agent of await this.agents()) {
      try {
        return { node: agent.node, ...(await agentJson<T>(agent, 'GET', `/v1/images/${encodeURIComponent(ref)}/${what}`, { idleTimeoutMs: LIST_TIMEOUT_MS })) };
      } catch (error) {
        if ((error as { status?: number }).status !== 404) relay(error);
      }
    }
    throw new NotFoundException({ error: `image "${ref}" not found on any Ready node`, details: [] });
  }

  private async agents(): Promise<AgentTarget[]> {
    const agents = await readyAgents(this.cluster.cache, this.cluster.agentCredentials());
    if (agents.length === 0) throw new HttpException({ error: 'no node is Ready: start one ("tsctl up") or wait until it registers', details: [] }, 503);
    return agents;
  }
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new BadRequestException({ error: `${field}: a non-empty string is required`, details: [{ document: 0, path: field, message: 'required' }] });
  return value;
}

function relay(error: unknown): never {
  if (error instanceof AgentError) throw new HttpException({ error: `${error.agent.node}: ${error.message}`, details: [] }, error.status || 502);
  throw error;
}
