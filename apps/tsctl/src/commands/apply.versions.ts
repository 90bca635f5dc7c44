/**
 * `tsctl apply` as a read-modify-write with optimistic concurrency: each Service document is sent
 * with the resourceVersion the API holds for it now (one list read), so the write happens only if
 * nobody wrote the Service in between; on 409 it reads again and resends, a few times. A document
 * that carries its own `metadata.resourceVersion` is the user's own read (`tsctl get -o yaml`,
 * edited): sent as it is and never retried, since a newer read would silently overwrite the other
 * writer's change. `--force` sends no versions and asks the API to overwrite.
 */
import { ApiClient, ApiError } from '../api/api.client';

export const APPLY_ATTEMPTS = 5;

export interface ApplyResult {
  kind: string;
  namespace?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
  /** A dry run's changed ConfigMap or Secret: the paths that would change (never a value). */
  changedPaths?: string[];
}

type Doc = { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown } };

function serviceKey(document: unknown): string | undefined {
  const doc = document as Doc;
  if (typeof doc !== 'object' || doc === null || doc.kind !== 'Service' || typeof doc.metadata?.name !== 'string') return undefined;
  return `${typeof doc.metadata.namespace === 'string' ? doc.metadata.namespace : 'default'}/${doc.metadata.name}`;
}

function ownVersion(document: unknown): boolean {
  return typeof document === 'object' && document !== null && (document as Doc).metadata?.resourceVersion !== undefined;
}

/** The document with `resourceVersion` set (or removed when undefined). */
export function withVersion(document: unknown, version: string | undefined): unknown {
  const doc = document as Doc & Record<string, unknown>;
  if (typeof doc !== 'object' || doc === null || typeof doc.metadata !== 'object' || doc.metadata === null) return document;
  const { resourceVersion: _old, ...metadata } = doc.metadata;
  return { ...doc, metadata: version === undefined ? metadata : { ...metadata, resourceVersion: version } };
}

/**
 * namespace/name → resourceVersion of the Services the API holds in the namespaces of `documents`:
 * one list per namespace, so a token limited to a namespace may apply there, and a big cluster is not listed whole.
 */
async function currentVersions(api: ApiClient, documents: unknown[]): Promise<Map<string, string>> {
  const namespaces = new Set(documents.map(serviceKey).filter((key): key is string => key !== undefined).map((key) => key.split('/')[0]));
  const versions = new Map<string, string>();
  for (const namespace of namespaces) {
    const listed = await api.get<{ items: { metadata: { namespace: string; name: string; resourceVersion?: string } }[] }>(
      `/api/v1/services?namespace=${encodeURIComponent(namespace)}`,
    ).catch((error: unknown) => {
      // Not ours to read: the apply goes without versions and the API refuses it (and audits the refusal) itself.
      if (error instanceof ApiError && error.status === 403) return { items: [] };
      throw error;
    });
    for (const s of listed.items) if (s.metadata.resourceVersion) versions.set(`${s.metadata.namespace}/${s.metadata.name}`, s.metadata.resourceVersion);
  }
  return versions;
}

/** `note` hears each retry; `dryRun`: the API checks and admits it, and writes nothing. */
export async function applyWithVersions(api: ApiClient, documents: unknown[], force: boolean, note: (line: string) => void, dryRun = false): Promise<ApplyResult[]> {
  const post = async (sent: unknown[]) => (await api.request<{ results: ApplyResult[] }>('POST', '/api/v1/apply', {
    documents: sent, ...(force ? { force: true } : {}), ...(dryRun ? { dryRun: true } : {}),
  })).results;
  if (force) return post(documents.map((d) => withVersion(d, undefined)));
  if (documents.some(ownVersion)) return post(documents);
  for (let attempt = 1; ; attempt++) {
    const versions = await currentVersions(api, documents);
    const sent = documents.map((d) => {
      const key = serviceKey(d);
      return key ? withVersion(d, versions.get(key)) : d;
    });
    try {
      return await post(sent);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409) || attempt >= APPLY_ATTEMPTS) throw error;
      note(`${error.message}: reading again (attempt ${attempt + 1} of ${APPLY_ATTEMPTS})`);
    }
  }
}
