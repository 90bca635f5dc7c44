/**
 * `POST /api/v1/join` (docs/REFERENCE.md): a node agent with a join token (`tsctl token create
 * --join`) sends a CSR for its node name and gets its certificate (CN system:node:<name>). The agent
 * has pinned the CA by hash before it sends the token (the API serves its chain, leaf and CA). Only
 * join tokens may call it: the guard lets their subject through to this route alone.
 */
import { BadRequestException, Body, Controller, ForbiddenException, HttpCode, Inject, Post, Req, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { parseAuthorization } from '@tide/auth';
import { Access } from '../auth/access.decorator';
import { CLUSTER, ClusterContext } from './cluster.context';

export interface JoinBody {
  nodeName?: unknown;
  /** PEM PKCS#10, CN system:node:<nodeName>, O system:nodes, client authentication only. */
  csr?: unknown;
  /** Optional, with `address`: PEM PKCS#10 for the agent's HTTPS serving certificate (serverAuth, that IP). */
  servingCsr?: unknown;
  /** The node's address (its --address), the one IP of its serving certificate. */
  address?: unknown;
}

export interface JoinAnswer {
  nodeName: string;
  certificate: string;
  ca: string;
  notAfter: string;
  /** With a servingCsr: the agent's HTTPS certificate. */
  servingCertificate?: string;
}

/** Large enough for an RSA-4096 CSR; anything bigger is not a CSR. */
const MAX_CSR_LENGTH = 16_384;

function badRequest(path: string, message: string): BadRequestException {
  return new BadRequestException({ error: message, details: [{ document: 0, path, message }] });
}

@Controller('api/v1/join')
export class JoinController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Post()
  @HttpCode(200)
  @Access('create', 'certificatesigningrequests')
  async join(@Req() req: Request, @Body() body: JoinBody): Promise<JoinAnswer> {
    const presented = parseAuthorization(req.headers.authorization);
    if ('allowed' in presented) throw new ForbiddenException({ error: 'POST /api/v1/join needs a join token (tsctl token create --join)', details: [] });
    if (typeof body?.nodeName !== 'string' || body.nodeName === '') throw badRequest('nodeName', 'nodeName: the name of the joining node (a string)');
    if (typeof body.csr !== 'string' || body.csr.length > MAX_CSR_LENGTH) throw badRequest('csr', `csr: a PEM certificate request of at most ${MAX_CSR_LENGTH} characters`);
    const serving = body.servingCsr !== undefined;
    if (serving && (typeof body.servingCsr !== 'string' || body.servingCsr.length > MAX_CSR_LENGTH)) {
      throw badRequest('servingCsr', `servingCsr: a PEM certificate request of at most ${MAX_CSR_LENGTH} characters`);
    }
    if (serving && typeof body.address !== 'string') throw badRequest('address', 'address: the node\'s IP address (its --address), needed with servingCsr');
    const record = await this.cluster.tokens.get(presented.id);
    if (record?.kind !== 'join') throw new ForbiddenException({ error: 'POST /api/v1/join needs a join token (tsctl token create --join)', details: [] });
    // The serving CSR is checked before the join uses the token up: a bad one changes nothing.
    const servingSigned = serving ? await this.cluster.enrollment.signServing(body.nodeName, body.servingCsr as string, body.address as string) : undefined;
    if (servingSigned && !servingSigned.ok) throw refusal(servingSigned, 'servingCsr');
    const joined = await this.cluster.enrollment.join(presented.id, body.nodeName, body.csr);
    if (!joined.ok) {
      const answer = { error: joined.reason, details: joined.status === 400 ? [{ document: 0, path: joined.reason.split(':')[0], message: joined.reason }] : [] };
      if (joined.status === 400) throw new BadRequestException(answer);
      throw joined.status === 401 ? new UnauthorizedException(answer) : new ForbiddenException(answer);
    }
    return {
      nodeName: body.nodeName, certificate: joined.value.certificate, ca: joined.value.ca, notAfter: joined.value.notAfter,
      ...(servingSigned?.ok ? { servingCertificate: servingSigned.value.certificate } : {}),
    };
  }
}

/** A refused serving CSR as the join's own refusals are answered, its field named. */
function refusal(result: { status: number; reason: string }, field: string): BadRequestException | UnauthorizedException | ForbiddenException {
  const reason = result.reason.startsWith('csr:') ? `${field}: ${result.reason.slice(4).trim()}` : result.reason;
  const answer = { error: reason, details: result.status === 400 ? [{ document: 0, path: reason.split(':')[0], message: reason }] : [] };
  if (result.status === 400) return new BadRequestException(answer);
  return result.status === 401 ? new UnauthorizedException(answer) : new ForbiddenException(answer);
}
