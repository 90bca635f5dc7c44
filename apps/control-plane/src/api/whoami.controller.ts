/**
 * `GET /api/v1/whoami`: who the caller's credentials stand for (Kubernetes' SelfSubjectReview). Any
 * valid credential may ask, and learns nothing but its own identity and role. Node agents use it to
 * check a token sent to their /metrics: they forward the scraper's Authorization header, so the
 * token is its own credential and the agent needs none of its own for this.
 */
import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { subjectName, type Subject } from '@tide/auth';
import { Authenticated } from '../auth/access.decorator';

@Controller('api/v1')
export class WhoAmIController {
  @Get('whoami')
  @Authenticated()
  whoami(@Res({ passthrough: true }) res: Response): { subject: Subject; name: string } {
    const subject = res.locals.subject as Subject;
    return { subject, name: subjectName(subject) };
  }
}
