/** How an HTTP request reads as libs/auth ResourceRequests: the namespace, the name, the fields. */
import type { Request } from 'express';
import { adminOnlyFields, RESOURCE_RULES, type ResourceRequest, type Verb } from '@tide/auth';

/** `?namespace=`: absent or empty is `default`, `all` is every namespace (`*`), as the routes read it. */
export function namespaceOfQuery(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'default';
  return value === 'all' ? '*' : value;
}

export function resourceRequest(verb: Verb, resource: string, req: Pick<Request, 'query' | 'params'>): ResourceRequest {
  const namespaced = RESOURCE_RULES[resource]?.scope === 'namespaced';
  const name = [req.params?.name, req.params?.id, req.params?.ref].find((value): value is string => typeof value === 'string');
  return {
    verb, resource,
    ...(namespaced ? { namespace: namespaceOfQuery(req.query?.namespace) } : {}),
    ...(name === undefined ? {} : { name }),
  };
}

/** The kinds `apply` takes, as resources; anything else is checked as a Service (validation refuses it later anyway). */
const APPLIED_RESOURCES: Record<string, string> = { Service: 'services', Secret: 'secrets', ConfigMap: 'configmaps' };

/**
 * `POST /api/v1/apply`: one write per document, in the document's namespace, with the admin-only
 * fields it sets. A body without documents is checked as a write in `?namespace` (400 comes after).
 */
export function applyRequests(req: Pick<Request, 'body' | 'query' | 'params'>): ResourceRequest[] {
  const documents = (req.body as { documents?: unknown } | undefined)?.documents;
  if (!Array.isArray(documents) || documents.length === 0) return [resourceRequest('update', 'services', req)];
  return documents.map((document) => {
    const object = (typeof document === 'object' && document !== null ? document : {}) as { kind?: unknown; metadata?: { namespace?: unknown; name?: unknown } };
    const namespace = typeof object.metadata?.namespace === 'string' && object.metadata.namespace !== '' ? object.metadata.namespace : 'default';
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : undefined;
    return {
      verb: 'update' as const,
      resource: (typeof object.kind === 'string' && APPLIED_RESOURCES[object.kind]) || 'services',
      namespace,
      ...(name === undefined ? {} : { name }),
      adminFields: adminOnlyFields(document),
    };
  });
}

/** `POST /api/v1/diff`: a read of each document's object, so a view token may diff what it may read. */
export function diffRequests(req: Pick<Request, 'body' | 'query' | 'params'>): ResourceRequest[] {
  return applyRequests(req).map(({ verb: _write, adminFields: _fields, ...object }) => ({ ...object, verb: 'get' as const }));
}
