/**
 * The API's door: every route declares its rule (access.decorator.ts); this guard authenticates the
 * caller, asks libs/auth, answers 401/403 as the API's other errors (`{ "error", "details" }`), and
 * has the audit log record mutating requests with the status they ended with.
 */
import { CanActivate, ExecutionContext, HttpException, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { CLUSTER, ClusterContext } from '../api/cluster.context';
import { ACCESS, AccessRule } from './access.decorator';
import { WWW_AUTHENTICATE } from './api.auth';
import { resourceRequest } from './resource.requests';

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector, @Inject(CLUSTER) private readonly cluster: ClusterContext) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.get<AccessRule | undefined>(ACCESS, context.getHandler());
    if (rule?.kind === 'public') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    if (!rule) throw new HttpException({ error: `${req.method} ${req.path} has no access rule: refused`, details: [] }, 403);
    const requests = rule.kind === 'authenticated' ? [] : rule.requests ? rule.requests(req) : [resourceRequest(rule.verb, rule.resource, req)];
    const admitted = await this.cluster.auth.admit(req, requests);
    if (!admitted.ok) {
      if (admitted.refusal.status === 401) res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
      throw new HttpException({ error: admitted.refusal.reason, details: [] }, admitted.refusal.status);
    }
    res.locals.subject = admitted.subject; // for routes that answer with it (whoami)
    // 'close' comes also when the caller goes away mid-answer (a build log cut short): still one line.
    res.once('close', () => this.cluster.auth.recordOutcome(admitted.subject, requests, res.statusCode, req));
    return true;
  }
}
