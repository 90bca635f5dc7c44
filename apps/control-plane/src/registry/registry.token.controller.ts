/**
 * The registry's token service (the distribution spec's token auth), on the control plane's HTTPS
 * port: `GET /v2/token?service=tide-registry&scope=repository:shop/web:pull,push` with a Tide
 * credential (Basic auth whose password is a Tide token, as docker, skopeo and podman send what
 * `tsctl registry login` wrote; or `Authorization: Bearer tide_…`; or a client certificate of the
 * cluster CA) → `{ token, access_token, expires_in, issued_at }`, the token granting what libs/registry's
 * `grantAccess` allows that identity. No credential or a bad one → 401 with a Basic challenge;
 * scopes the caller may not have are left out of the token (the registry then refuses them), as the spec says.
 */
import { Controller, Get, HttpException, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { parseScopes } from '@tide/registry';
import { CLUSTER, ClusterContext } from '../api/cluster.context';
import { Public } from '../auth/access.decorator';
import { REGISTRY_SERVICE } from './cluster.registry';

@Controller('v2')
export class RegistryTokenController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  /** Public at the guard: it authenticates here, because registry clients send Basic auth. */
  @Get('token')
  @Public()
  async token(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    const registry = this.cluster.registry;
    if (!registry?.issuesTokens()) throw new HttpException({ error: 'this cluster has no embedded registry: no registry tokens are issued here', details: [] }, 404);
    const service = typeof req.query.service === 'string' ? req.query.service : REGISTRY_SERVICE;
    if (service !== REGISTRY_SERVICE) throw new HttpException({ error: `service: "${service}" is not this cluster's registry (${REGISTRY_SERVICE})`, details: [] }, 400);
    const subject = await this.cluster.auth.authenticate(asBearer(req));
    if ('allowed' in subject) {
      res.setHeader('WWW-Authenticate', `Basic realm="${REGISTRY_SERVICE}"`);
      throw new HttpException({ error: subject.reason, details: [] }, 401);
    }
    const raw = req.query.scope;
    const scopes = Array.isArray(raw) ? raw.filter((s): s is string => typeof s === 'string') : typeof raw === 'string' ? [raw] : [];
    const issued = registry.issueToken(subject, parseScopes(scopes));
    return { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt };
  }
}

/**
 * Basic credentials become the bearer token they carry (the password; the user name is not used),
 * so the API's own authentication decides; anything else is passed as it is.
 */
function asBearer(req: Request): IncomingMessage {
  const header = req.headers.authorization;
  const basic = header ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (!basic) return req;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  // The other headers stay: a forwarded caller's certificate narrows this credential here as everywhere.
  return { headers: { ...req.headers, authorization: `Bearer ${password}` }, socket: req.socket } as unknown as IncomingMessage;
}
