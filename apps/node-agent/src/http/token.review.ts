/**
 * Checks a bearer token sent to the agent (a Prometheus scrape) by asking the control plane who it
 * is: `GET /api/v1/whoami` with that very header, over HTTPS trusting only the cluster CA, so the
 * token goes nowhere but to the API that issued it. Answers are kept a short while by the SHA-256 of
 * the header (a scrape every 15 s costs one call per TTL): a revoked token works on agents for up to
 * REVIEW_TTL_MS more. A control plane that cannot be reached is a 401 saying so (not cached).
 */
import { createHash } from 'node:crypto';
import * as https from 'node:https';
import { unauthenticated, type Refusal, type Subject } from '@tide/auth';
import type { TokenReviewer } from './agent.auth';

export const REVIEW_TTL_MS = 30_000;
/** A refused token is asked about again after this long (a token created a moment ago may be in use already). */
export const REFUSAL_TTL_MS = 5_000;
const REVIEW_TIMEOUT_MS = 5_000;
/** Distinct tokens remembered; past this the oldest go first. */
const CACHE_SIZE = 1000;

export interface TokenReviewOptions {
  /** `--api-server`: the control plane's HTTPS API, `https://HOST:PORT`. */
  apiServer: string;
  /** The cluster CA (PEM), the only one trusted for the API's certificate. */
  caPem: () => string;
  now?: () => number;
  /** The call itself (tests pass another). */
  ask?: (authorization: string) => Promise<Subject | Refusal>;
}

export function controlPlaneTokenReview(options: TokenReviewOptions): TokenReviewer {
  const now = options.now ?? Date.now;
  const ask = options.ask ?? ((authorization: string) => whoami(options.apiServer, options.caPem(), authorization));
  const cache = new Map<string, { answer: Subject | Refusal; until: number }>();
  return async (authorization) => {
    const key = createHash('sha256').update(authorization).digest('hex');
    const cached = cache.get(key);
    if (cached && cached.until > now()) return cached.answer;
    cache.delete(key);
    let answer: Subject | Refusal;
    try {
      answer = await ask(authorization);
    } catch (error) {
      return unauthenticated(`cannot check the token with the control plane at ${options.apiServer}: ${(error as Error).message}`);
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(key, { answer, until: now() + ('allowed' in answer ? REFUSAL_TTL_MS : REVIEW_TTL_MS) });
    return answer;
  };
}

/** One `GET /api/v1/whoami`: the subject on 200, the API's refusal on 401/403; anything else throws. */
export function whoami(apiServer: string, caPem: string, authorization: string): Promise<Subject | Refusal> {
  return new Promise((resolve, reject) => {
    const url = new URL('/api/v1/whoami', apiServer);
    const req = https.get(url, { ca: caPem, headers: { authorization }, agent: false, timeout: REVIEW_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let parsed: { subject?: Subject; error?: string } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // reported below
        }
        const status = res.statusCode ?? 0;
        if (status === 200 && parsed.subject) return resolve(parsed.subject);
        if (status === 401 || status === 403) return resolve({ allowed: false, status, reason: parsed.error ?? `HTTP ${status}` });
        reject(new Error(`HTTP ${status}${parsed.error ? `: ${parsed.error}` : ''}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REVIEW_TIMEOUT_MS / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.message)));
  });
}
