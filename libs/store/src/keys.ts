/** etcd key layout (docs/REFERENCE.md): /tide/v1/<plural>/<namespace>/<name>, nodes cluster-scoped. */
import { Kind } from '@tide/api';

export const ROOT = '/tide/v1/';

export const PLURAL: Record<Kind, string> = { Service: 'services', Replica: 'replicas', Node: 'nodes', Event: 'events', ServiceRevision: 'revisions' };

export function objectKey(kind: Kind, namespace: string, name: string): string {
  return kind === 'Node' ? `${ROOT}nodes/${name}` : `${ROOT}${PLURAL[kind]}/${namespace}/${name}`;
}

/** Prefix of every object of a kind, or of one namespace of it. */
export function kindPrefix(kind: Kind, namespace?: string): string {
  if (kind === 'Node' || namespace === undefined) return `${ROOT}${PLURAL[kind]}/`;
  return `${ROOT}${PLURAL[kind]}/${namespace}/`;
}

export function leaseKey(node: string): string {
  return `${ROOT}leases/${node}`;
}

export const LEASE_PREFIX = `${ROOT}leases/`;
export const ELECTION_NAME = 'tide-v1-leader';
