/**
 * Who may call a route, declared on the handler: `@Access(verb, resource)` maps it to one libs/auth
 * ResourceRequest (namespace from `?namespace`, name from `:name`), `@Public()` opens it to anyone.
 * A route with neither is refused by the guard: deny by default.
 */
import { SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { ResourceRequest, Verb } from '@tide/auth';

export const ACCESS = 'tide:access';

export type AccessRule =
  | { kind: 'public' }
  /** Anyone with valid credentials, whatever their role (`whoami`). */
  | { kind: 'authenticated' }
  | {
    kind: 'resource';
    verb: Verb;
    resource: string;
    /** For routes whose body names the objects (apply): one request per object. */
    requests?: (req: Request) => ResourceRequest[];
  };

/** Anyone, without credentials (liveness probes). */
export const Public = () => SetMetadata(ACCESS, { kind: 'public' } satisfies AccessRule);

/** Any caller with valid credentials: the route itself reveals nothing beyond who the caller is. */
export const Authenticated = () => SetMetadata(ACCESS, { kind: 'authenticated' } satisfies AccessRule);

export const Access = (verb: Verb, resource: string, requests?: (req: Request) => ResourceRequest[]) =>
  SetMetadata(ACCESS, { kind: 'resource', verb, resource, ...(requests ? { requests } : {}) } satisfies AccessRule);
