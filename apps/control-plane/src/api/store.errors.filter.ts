/**
 * The store's errors as HTTP answers, for every route (and the guard, whose token check reads etcd):
 *   409 the object changed since it was read (stale resourceVersion) or exists already;
 *   404 not found; 413 larger than an object may be;
 *   507 etcd's NOSPACE alarm: writes refused until space is freed (reads and deletes still work);
 *   503 + Retry-After: etcd unreachable and nothing was sent (a write so answered is never applied);
 *   504 + Retry-After: a write sent to etcd that did not answer in time (it may still be applied:
 *       read the object before retrying). A read without an answer is a plain 503.
 * Anything else goes to NestJS' own handling.
 */
import { ArgumentsHost, Catch, HttpStatus } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Request, Response } from 'express';
import {
  AlreadyExistsError, ConflictError, NotFoundError, ObjectTooLargeError, StoreNoSpaceError, StoreUnavailableError, translateEtcdError,
} from '@tide/store';

/** Seconds a client is told to wait before trying again while etcd is unavailable. */
export const RETRY_AFTER_SECONDS = 2;

export interface StoreErrorAnswer {
  status: number;
  error: string;
  retryAfter?: number;
}

/** The answer a store error gets, or undefined when it is not one. */
export function storeErrorAnswer(exception: unknown, method: string): StoreErrorAnswer | undefined {
  const error = translateEtcdError(exception);
  if (error instanceof ConflictError || error instanceof AlreadyExistsError) return { status: HttpStatus.CONFLICT, error: error.message };
  if (error instanceof NotFoundError) return { status: HttpStatus.NOT_FOUND, error: error.message };
  if (error instanceof ObjectTooLargeError) return { status: HttpStatus.PAYLOAD_TOO_LARGE, error: error.message };
  if (error instanceof StoreNoSpaceError) return { status: HttpStatus.INSUFFICIENT_STORAGE, error: error.message };
  if (!(error instanceof StoreUnavailableError)) return undefined;
  const write = method !== 'GET' && method !== 'HEAD';
  if (write && error.outcome === 'unknown') {
    return { status: HttpStatus.GATEWAY_TIMEOUT, retryAfter: RETRY_AFTER_SECONDS, error: `${error.message}: the write may still be applied; read the object before trying again` };
  }
  return { status: HttpStatus.SERVICE_UNAVAILABLE, retryAfter: RETRY_AFTER_SECONDS, error: `${error.message}${write ? '; nothing was written' : ''}` };
}

@Catch()
export class StoreErrorsFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const answer = storeErrorAnswer(exception, http.getRequest<Request>()?.method ?? 'GET');
    if (!answer || host.getType() !== 'http') return super.catch(exception, host);
    const res = http.getResponse<Response>();
    if (answer.retryAfter !== undefined) res.setHeader('Retry-After', String(answer.retryAfter));
    res.status(answer.status).json({ error: answer.error, details: [] });
  }
}
