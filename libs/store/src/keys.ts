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

/** ConfigMaps and Secrets (config.store.ts): `/tide/v1/configmaps|secrets/<namespace>/<name>`; a Secret's value is sealed. */
export const CONFIG_PLURAL = { ConfigMap: 'configmaps', Secret: 'secrets' } as const;

export function configObjectKey(kind: keyof typeof CONFIG_PLURAL, namespace: string, name: string): string {
  return `${ROOT}${CONFIG_PLURAL[kind]}/${namespace}/${name}`;
}

export function configPrefix(kind: keyof typeof CONFIG_PLURAL, namespace?: string): string {
  return `${ROOT}${CONFIG_PLURAL[kind]}/${namespace === undefined ? '' : `${namespace}/`}`;
}
