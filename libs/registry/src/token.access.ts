/**
 * What a Tide identity may do in the cluster's registry, as the registry's token service decides it
 * (the control plane issues the tokens). Images are cluster-wide in Tide (a service of any namespace
 * may run any image), so every user and node may pull; pushing is the edit role's in its namespace
 * (repositories `<namespace>/...`) or anywhere for an edit token of every namespace, and the admin's
 * everywhere; deleting and the catalog are the admin's. Actions not granted are left out of the token,
 * as the spec says, rather than refused: the registry then answers 401/403 for what is missing.
 */
import type { Subject } from '@tide/auth';

export interface AccessEntry {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * The `scope` parameters of a token request (`repository:shop/web:pull,push`, `registry:catalog:*`),
 * each parameter possibly holding several space-separated scopes. Malformed ones are dropped.
 */
export function parseScopes(scopes: readonly string[]): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const type = scope.slice(0, first);
    const name = scope.slice(first + 1, last);
    const actions = [...new Set(scope.slice(last + 1).split(',').filter(Boolean))];
    if (type === 'repository' && REPOSITORY.test(name)) entries.push({ type, name, actions });
    else if (type === 'registry' && name === 'catalog') entries.push({ type, name, actions });
  }
  return entries;
}

/** The subset of `requested` that `subject` gets; entries with no action left are dropped. */
export function grantAccess(subject: Subject, requested: readonly AccessEntry[]): AccessEntry[] {
  const granted: AccessEntry[] = [];
  for (const entry of requested) {
    const actions = entry.actions.filter((action) => allowed(subject, entry, action));
    if (actions.length > 0) granted.push({ ...entry, actions });
  }
  return granted;
}

function allowed(subject: Subject, entry: AccessEntry, action: string): boolean {
  if (subject.kind === 'control-plane') return true;
  if (subject.kind === 'node') return entry.type === 'repository' && action === 'pull';
  if (subject.kind !== 'user') return false;
  if (subject.role === 'admin') return true;
  if (entry.type !== 'repository') return false;
  if (action === 'pull') return true;
  if (action !== 'push' || subject.role !== 'edit') return false;
  return subject.namespace === undefined || entry.name.startsWith(`${subject.namespace}/`);
}
