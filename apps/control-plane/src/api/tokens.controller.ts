/**
 * Bearer tokens (`tsctl token create|ls|revoke`): made here, shown once, stored hashed in etcd
 * (libs/store TokenStore, libs/auth createUserToken). Only admin reaches these routes.
 */
import { BadRequestException, Body, Controller, Delete, Get, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { createJoinToken, createUserToken, isNodeName, parseNamespace, parseRole, parseTtl, type TokenRecord } from '@tide/auth';
import { Access } from '../auth/access.decorator';
import { CLUSTER, ClusterContext } from './cluster.context';

/** What the API shows of a token: everything but the hash of its secret. */
export type TokenInfo = Omit<TokenRecord, 'secretHash'>;

export interface CreateTokenBody {
  /** `user` (default) or `join`: a join token only lets a node agent ask for its certificate. */
  kind?: unknown;
  /** join: the one node name it may join as. */
  node?: unknown;
  /** join: how many nodes may join with it. */
  uses?: unknown;
  role?: unknown;
  namespace?: unknown;
  /** `24h`, `7d`, `1h30m` (libs/auth parseTtl); none: the token does not expire. */
  ttl?: unknown;
  description?: unknown;
}

function info(record: TokenRecord): TokenInfo {
  const { secretHash: _hidden, ...shown } = record;
  return shown;
}

function field<T>(name: string, value: unknown, parse: (text: string, field: string) => { ok: true; value: T } | { ok: false; reason: string }): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(name, `${name}: must be a string`);
  const parsed = parse(value, name);
  if (!parsed.ok) throw badRequest(name, parsed.reason);
  return parsed.value;
}

function badRequest(path: string, message: string): BadRequestException {
  return new BadRequestException({ error: message, details: [{ document: 0, path, message }] });
}

@Controller('api/v1/tokens')
export class TokensController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  /**
   * Body `{ role, namespace?, ttl?, description? }` → `{ token, record }`: the token appears here only.
   * `{ kind: "join", ttl?, node?, uses?, description? }` → also `join: { caHash, grpcPort }`, what a
   * join command names (`node-agent --join TOKEN --control-plane HOST:grpcPort --ca-hash caHash`).
   */
  @Post()
  @Access('create', 'tokens')
  async create(@Body() body: CreateTokenBody): Promise<{ token: string; record: TokenInfo; join?: { caHash: string; grpcPort: number } }> {
    if (body?.kind === 'join') return this.createJoin(body);
    if (body?.kind !== undefined && body.kind !== 'user') throw badRequest('kind', 'kind: user or join');
    const role = field('role', body?.role ?? '', parseRole);
    const namespace = field('namespace', body?.namespace, parseNamespace);
    const ttlMs = field('ttl', body?.ttl, parseTtl);
    if (body?.description !== undefined && (typeof body.description !== 'string' || body.description.length > 200)) {
      throw badRequest('description', 'description: a string of at most 200 characters');
    }
    const made = createUserToken({ role: role!, ...(namespace ? { namespace } : {}), ...(ttlMs ? { ttlMs } : {}), ...(body?.description ? { description: body.description as string } : {}) });
    if (!made.ok) throw badRequest('namespace', made.reason.replace(/^--namespace/, 'namespace'));
    await this.cluster.tokens.create(made.value.record);
    return { token: made.value.token, record: info(made.value.record) };
  }

  private async createJoin(body: CreateTokenBody): Promise<{ token: string; record: TokenInfo; join: { caHash: string; grpcPort: number } }> {
    if (body.role !== undefined || body.namespace !== undefined) throw badRequest('role', 'role, namespace: a join token has neither (it only joins a node)');
    const ttlMs = field('ttl', body.ttl, parseTtl);
    if (body.node !== undefined && (typeof body.node !== 'string' || !isNodeName(body.node))) throw badRequest('node', 'node: a node name (lower-case letters, digits, \'-\' and \'.\')');
    if (body.uses !== undefined && (typeof body.uses !== 'number' || !Number.isInteger(body.uses) || body.uses < 1)) throw badRequest('uses', 'uses: a whole number of at least 1');
    if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 200)) {
      throw badRequest('description', 'description: a string of at most 200 characters');
    }
    const made = createJoinToken({
      ...(ttlMs ? { ttlMs } : {}), ...(body.node ? { nodeName: body.node as string } : {}), ...(body.uses ? { maxUses: body.uses as number } : {}),
      ...(body.description ? { description: body.description as string } : {}),
    });
    if (!made.ok) throw badRequest('node', made.reason);
    await this.cluster.tokens.create(made.value.record);
    return { token: made.value.token, record: info(made.value.record), join: { caHash: this.cluster.enrollment.caHash(), grpcPort: this.cluster.enrollment.grpcPort() } };
  }

  @Get()
  @Access('list', 'tokens')
  async list(): Promise<{ items: TokenInfo[] }> {
    return { items: (await this.cluster.tokens.list()).map(info) };
  }

  /** Revokes at once on every control plane: the record is gone, so the next call with it is a 401. */
  @Delete(':id')
  @Access('delete', 'tokens')
  async revoke(@Param('id') id: string): Promise<{ revoked: string }> {
    if (!(await this.cluster.tokens.delete(id))) throw new NotFoundException({ error: `token "${id}" not found (tsctl token ls lists them)`, details: [] });
    return { revoked: id };
  }
}
