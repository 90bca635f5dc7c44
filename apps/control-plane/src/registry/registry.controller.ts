/**
 * The cluster registry through the API (docs/REFERENCE.md):
 *   GET  /api/v1/registry        → { address, caFile?, ca?, embedded }                  (view)
 *   POST /api/v1/images/push  { ref, node? }  → { node, repository, tag, digest, size, uploadedBlobs, blobs, layers }
 *        one Ready node (the given one, else the first that has the image) pushes it from its store,
 *        with a registry token granting the caller's own rights (view and up may ask; the token decides)
 *   POST /api/v1/images/pull  { ref, p2p? }  → { ref, results: NodeResult[] }            (admin, like import)
 *        every Ready node pulls it into its store, with a pull token of the control plane's own; the
 *        nodes are each other's peers (each layer from the registry once, then node to node) unless p2p is false
 */
import { BadRequestException, Body, Controller, Get, HttpCode, HttpException, Inject, Post, Req, ServiceUnavailableException } from '@nestjs/common';
import type { Request } from 'express';
import { NodeImage, NodeResult } from '@tide/api';
import type { Subject } from '@tide/auth';
import { RegistryError, pullPlan, pushPlan, type PullPlan } from '@tide/registry';
import { AgentError, AgentTarget, agentJson, onEveryAgent, peersOf, readyAgents } from '../api/agent.client';
import { CLUSTER, ClusterContext } from '../api/cluster.context';
import { Access } from '../auth/access.decorator';
import type { ClusterRegistry } from './cluster.registry';

/** A pull or push of a big image takes a while; the agent answers once it is done. */
const TRANSFER_TIMEOUT_MS = 15 * 60_000;
const LIST_TIMEOUT_MS = 5_000;

/** A layer's blob, and whether the transfer moved it (else the other end had it). */
interface LayerTransfer {
  digest: string;
  moved: boolean;
}

interface PullAnswer {
  image: NodeImage;
  digest: string;
  fetchedLayers: number;
  fromPeers?: number;
  layers?: LayerTransfer[];
}

interface PushResult {
  node: string;
  repository: string;
  tag: string;
  /** The manifest's digest and size in bytes. */
  digest: string;
  size?: number;
  uploadedBlobs: number;
  blobs: number;
  layers?: LayerTransfer[];
}

@Controller('api/v1')
export class RegistryController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Get('registry')
  @Access('list', 'images')
  info(): { address: string; caFile?: string; ca?: string; embedded: boolean } {
    const registry = this.registry();
    const ca = registry.caPem();
    return { ...registry.info, ...(ca ? { ca } : {}) };
  }

  @Post('images/push')
  @Access('list', 'images')
  @HttpCode(200)
  async push(@Req() req: Request, @Body() body: { ref?: unknown; node?: unknown }): Promise<PushResult> {
    const registry = this.registry();
    const plan = planned(() => pushPlan(stringField(body?.ref, 'ref'), registry.info.address));
    const subject = await this.subject(req);
    const token = this.tokenFor(registry, subject, plan.repository, ['pull', 'push']);
    const agent = await this.nodeWith(plan.storeRef, body?.node);
    const request = { registry: this.target(registry, token), ref: plan.storeRef, repository: plan.repository, tag: plan.tag };
    const pushed = await agentJson<Omit<PushResult, 'node' | 'repository' | 'tag'>>(agent, 'POST', '/v1/images/push', json(request)).catch(agentFailure);
    return { node: agent.node, repository: `${registry.info.address}/${plan.repository}`, tag: plan.tag, ...pushed };
  }

  @Post('images/pull')
  @Access('create', 'images')
  @HttpCode(200)
  async pull(@Body() body: { ref?: unknown; p2p?: unknown }): Promise<{ ref: string; results: NodeResult<PullAnswer>[] }> {
    if (body?.p2p !== undefined && typeof body.p2p !== 'boolean') throw new BadRequestException({ error: 'p2p: true or false', details: [{ document: 0, path: 'p2p', message: 'a boolean' }] });
    const registry = this.cluster.registry;
    const plan: PullPlan = planned(() => pullPlan(stringField(body?.ref, 'ref'), registry?.info.address));
    const token = plan.cluster && registry?.issuesTokens()
      ? registry.issueToken({ kind: 'control-plane' }, [{ type: 'repository', name: plan.repository, actions: ['pull'] }]).token
      : undefined;
    const agents = await readyAgents(this.cluster.cache, this.cluster.agentCredentials());
    if (agents.length === 0) throw new ServiceUnavailableException({ error: 'no node is Ready: start one ("tsctl up") or wait until it registers', details: [] });
    const target = { address: plan.registry, ...(plan.cluster && registry?.caPem() ? { ca: registry.caPem() } : {}), ...(token ? { token } : {}) };
    const peers = body?.p2p === false || agents.length < 2 ? undefined : peersOf(agents);
    const request = { registry: target, repository: plan.repository, reference: plan.reference, ref: plan.storeRef, ...(peers ? { peers } : {}) };
    const results = await onEveryAgent(agents, (agent) => agentJson<PullAnswer>(agent, 'POST', '/v1/images/pull', json(request)));
    const failed = results.filter((r) => !r.ok);
    if (failed.length === results.length) {
      const status = failed.every((r) => r.status && r.status >= 400 && r.status < 600) ? failed[0].status! : 502;
      throw new HttpException({ error: `${failed[0].node}: ${failed[0].error}`, details: [], results }, status);
    }
    return { ref: plan.storeRef, results };
  }

  private registry(): ClusterRegistry {
    const registry = this.cluster.registry;
    if (!registry) throw new HttpException({ error: 'this cluster has no registry: start it with "tsctl up" (embedded) or "--registry HOST:PORT"', details: [] }, 404);
    return registry;
  }

  private async subject(req: Request): Promise<Subject> {
    const subject = await this.cluster.auth.authenticate(req);
    if ('allowed' in subject) throw new HttpException({ error: subject.reason, details: [] }, 401);
    return subject;
  }

  /** A token with the caller's own rights; 403 naming what is missing when they do not reach. */
  private tokenFor(registry: ClusterRegistry, subject: Subject, repository: string, actions: string[]): string | undefined {
    if (!registry.issuesTokens()) return undefined;
    const issued = registry.issueToken(subject, [{ type: 'repository', name: repository, actions }]);
    const granted = issued.access[0]?.actions ?? [];
    const missing = actions.filter((a) => !granted.includes(a));
    if (missing.length > 0) {
      throw new HttpException({ error: `${describe(subject)} may not ${missing.join(' or ')} ${repository} in the cluster registry (edit may push to <its namespace>/..., admin anywhere)`, details: [] }, 403);
    }
    return issued.token;
  }

  private target(registry: ClusterRegistry, token: string | undefined): { address: string; ca?: string; token?: string } {
    const ca = registry.caPem();
    return { address: registry.info.address, ...(ca ? { ca } : {}), ...(token ? { token } : {}) };
  }

  /** The node to push from: the one named, else the first Ready node whose store has the image. */
  private async nodeWith(ref: string, node: unknown): Promise<AgentTarget> {
    const agents = await readyAgents(this.cluster.cache, this.cluster.agentCredentials());
    if (node !== undefined) {
      const named = agents.find((a) => a.node === node);
      if (!named) throw new BadRequestException({ error: `node: "${String(node)}" is not a Ready node`, details: [] });
      return named;
    }
    for (const agent of agents) {
      const list = await agentJson<{ items: NodeImage[] }>(agent, 'GET', '/v1/images', { idleTimeoutMs: LIST_TIMEOUT_MS }).catch(() => ({ items: [] }));
      if (list.items.some((image) => image.ref === ref)) return agent;
    }
    throw new HttpException({ error: `image "${ref}" is on no Ready node: build or import it first`, details: [] }, 404);
  }
}

function describe(subject: Subject): string {
  if (subject.kind !== 'user') return subject.kind;
  return `${subject.name} (role ${subject.role}${subject.namespace ? ` in namespace ${subject.namespace}` : ''})`;
}

function json(value: unknown) {
  return { body: Buffer.from(JSON.stringify(value)), headers: { 'content-type': 'application/json' }, idleTimeoutMs: TRANSFER_TIMEOUT_MS };
}

function stringField(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new BadRequestException({ error: `${field}: an image reference is required`, details: [{ document: 0, path: field, message: 'required' }] });
  return value;
}

function planned<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof RegistryError) throw new BadRequestException({ error: error.message, details: [] });
    throw error;
  }
}

function agentFailure(error: unknown): never {
  if (error instanceof AgentError) throw new HttpException({ error: `${error.agent.node}: ${error.message}`, details: [] }, error.status || 502);
  throw error;
}
