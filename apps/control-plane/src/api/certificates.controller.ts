/**
 * Certificates of the cluster CA for `tsctl docker-serve --tcp` (docs/ARCHITECTURE.md "Docker clients"):
 * `POST /api/v1/certificates/user` signs a client certificate naming the caller as it is (its name,
 * role and namespace: libs/auth userIdentity), so it grants nothing the caller lacks, and lives no
 * longer than the caller's token; `POST /api/v1/certificates/serving` signs docker-serve's serving
 * certificate for the names asked, for admins only (a serving certificate of the cluster CA is
 * trusted as the API itself would be).
 */
import { BadRequestException, Body, Controller, ForbiddenException, HttpCode, HttpException, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import * as net from 'node:net';
import { DOCKER_SERVE_NAME, FORWARDED_CERTIFICATE_HEADER, tokenIdOfUser, userIdentity, type Subject } from '@tide/auth';
import { Access } from '../auth/access.decorator';
import type { EnrollmentResult, SignedNodeCertificate } from '../node-identity/node.enrollment';
import { CLUSTER, ClusterContext } from './cluster.context';

/** A user certificate lives 30 days at most (and never past its token): `tsctl docker-host --tcp` makes a new one. */
export const USER_CERTIFICATE_VALIDITY_MS = 30 * 24 * 3_600_000;
export const SERVING_CERTIFICATE_VALIDITY_MS = 90 * 24 * 3_600_000;
/** Large enough for an RSA-4096 CSR; anything bigger is not a CSR. */
const MAX_CSR_LENGTH = 16_384;

export interface CertificateBody {
  /** PEM PKCS#10. user: CN and O exactly the caller's (whoami, libs/auth userIdentity); serving: CN tide:docker-serve. */
  csr?: unknown;
  /** serving: the DNS names and IP addresses the server answers on. */
  names?: unknown;
}

@Controller('api/v1/certificates')
export class CertificatesController {
  constructor(@Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  @Post('user')
  @HttpCode(200)
  @Access('create', 'certificates/user')
  async user(@Req() req: Request, @Body() body: CertificateBody, @Res({ passthrough: true }) res: Response): Promise<SignedNodeCertificate> {
    const subject = res.locals.subject as Subject;
    // A forwarded caller has its certificate already; a certificate named "X via Y" would name nobody.
    if (subject.kind !== 'user' || req.headers[FORWARDED_CERTIFICATE_HEADER] !== undefined) {
      throw new ForbiddenException({ error: 'a user certificate is issued to a user\'s own credential only, not through a forwarder', details: [] });
    }
    const tokenId = tokenIdOfUser(subject.name);
    const expiresAt = tokenId === undefined ? undefined : (await this.cluster.tokens.get(tokenId))?.expiresAt;
    const untilTokenEnds = expiresAt === undefined ? Infinity : Date.parse(expiresAt) - Date.now();
    return answer(await this.cluster.enrollment.signFor(userIdentity(subject), csrOf(body), { validityMs: Math.min(USER_CERTIFICATE_VALIDITY_MS, untilTokenEnds) }));
  }

  @Post('serving')
  @HttpCode(200)
  @Access('create', 'certificates/serving')
  async serving(@Body() body: CertificateBody): Promise<SignedNodeCertificate> {
    const names = body?.names;
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && n !== '')) {
      throw badRequest('names', 'names: the DNS names and IP addresses to serve (a list of strings)');
    }
    const serving = { dnsNames: names.filter((n: string) => net.isIP(n) === 0), ipAddresses: names.filter((n: string) => net.isIP(n) !== 0) };
    const identity = { commonName: DOCKER_SERVE_NAME, organizations: [] };
    return answer(await this.cluster.enrollment.signFor(identity, csrOf(body), { serving, validityMs: SERVING_CERTIFICATE_VALIDITY_MS }));
  }
}

function csrOf(body: CertificateBody): string {
  if (typeof body?.csr !== 'string' || body.csr.length > MAX_CSR_LENGTH) throw badRequest('csr', `csr: a PEM certificate request of at most ${MAX_CSR_LENGTH} characters`);
  return body.csr;
}

function answer(result: EnrollmentResult): SignedNodeCertificate {
  if (result.ok) return result.value;
  throw new HttpException({ error: result.reason, details: result.status === 400 ? [{ document: 0, path: 'csr', message: result.reason }] : [] }, result.status);
}

function badRequest(path: string, message: string): BadRequestException {
  return new BadRequestException({ error: message, details: [{ document: 0, path, message }] });
}
