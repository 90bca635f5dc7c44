/**
 * `tsctl apply --prune -l KEY=VALUE`: after the apply, the objects carrying every label of the
 * selector that the files no longer hold are deleted, in the namespaces the files name. Only the
 * kinds apply manages (Services) are pruned; the selector is required, so that an apply of one file
 * never deletes what other files made.
 */
import { UsageError } from '../cli/args';
import { ApiClient } from '../api/api.client';
import { query } from './command';

export type LabelSelector = Record<string, string>;

/** `app=web,tier=front` → { app: 'web', tier: 'front' }: equality only, every label must match. */
export function parseSelector(text: string | undefined): LabelSelector {
  if (text === undefined || text.trim() === '') throw new UsageError('--prune needs -l KEY=VALUE: only the objects carrying that label are pruned');
  const selector: LabelSelector = {};
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*=\s*([-A-Za-z0-9_.]*)\s*$/.exec(part);
    if (!match) throw new UsageError(`-l: expected KEY=VALUE[,KEY=VALUE...] (equality only), got "${part}"`);
    selector[match[1]] = match[2];
  }
  return selector;
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: LabelSelector): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

interface Named {
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string> };
}

/** "namespace/name" of each Service document (namespace default when absent). */
export function serviceKeys(documents: unknown[]): Set<string> {
  const keys = new Set<string>();
  for (const doc of documents as Named[]) {
    if (doc?.kind !== 'Service' || typeof doc.metadata?.name !== 'string') continue;
    keys.add(`${typeof doc.metadata.namespace === 'string' && doc.metadata.namespace ? doc.metadata.namespace : 'default'}/${doc.metadata.name}`);
  }
  return keys;
}

/** The stored Services to prune: carrying the selector's labels, and not in the files. */
export function prunable(stored: Named[], selector: LabelSelector, keep: Set<string>): { namespace: string; name: string }[] {
  return stored
    .map((s) => ({ namespace: String(s.metadata?.namespace ?? 'default'), name: String(s.metadata?.name), labels: s.metadata?.labels }))
    .filter((s) => matchesSelector(s.labels, selector) && !keep.has(`${s.namespace}/${s.name}`))
    .map(({ namespace, name }) => ({ namespace, name }));
}

/** Lists the files' namespaces and deletes what is prunable (only says so on a dry run); returns the lines to print. */
export async function prune(api: ApiClient, documents: unknown[], selector: LabelSelector, dryRun: boolean): Promise<string[]> {
  const keep = serviceKeys(documents);
  const namespaces = new Set([...keep].map((key) => key.split('/')[0]));
  if (namespaces.size === 0) namespaces.add('default');
  const lines: string[] = [];
  for (const namespace of [...namespaces].sort()) {
    const { items } = await api.get<{ items: Named[] }>(`/api/v1/services${query({ namespace })}`);
    for (const target of prunable(items, selector, keep)) {
      if (!dryRun) await api.request('DELETE', `/api/v1/services/${encodeURIComponent(target.name)}${query({ namespace })}`);
      lines.push(`service/${target.name} pruned${dryRun ? ' (server dry run)' : ''}`);
    }
  }
  return lines;
}
