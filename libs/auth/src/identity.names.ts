/**
 * How certificates name their holders, as Kubernetes does: the common name is the user, the
 * organizations are groups. libs/pki writes these names into certificates; subjects.ts reads them back.
 */
export interface CertificateIdentity {
  commonName: string;
  organizations: string[];
}

/** Prefix of a node's common name (`system:node:node-1`), as the kubelet's. */
export const NODE_NAME_PREFIX = 'system:node:';
/** The group of every node certificate. */
export const NODES_GROUP = 'system:nodes';
/** Common name of the control plane's client certificate (towards agents and etcd). */
export const CONTROL_PLANE_NAME = 'system:tide-control-plane';
/** Full access, like Kubernetes' system:masters: the control plane's and an administrator's certificates. */
export const MASTERS_GROUP = 'system:masters';
/**
 * A user certificate (`tsctl docker-host --tcp`) carries its holder's role and namespace as groups,
 * as a token record carries them: `tide:role:view`, `tide:namespace:shop`.
 */
export const ROLE_GROUP_PREFIX = 'tide:role:';
export const NAMESPACE_GROUP_PREFIX = 'tide:namespace:';
/** Common name of `tsctl docker-serve`'s serving certificate (no groups: it names no client). */
export const DOCKER_SERVE_NAME = 'tide:docker-serve';

// DNS-1123 subdomain: also keeps names free of characters that need escaping in a distinguished name.
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function isNodeName(name: string): boolean {
  return NODE_NAME.test(name);
}

export function nodeIdentity(nodeName: string): CertificateIdentity {
  if (!isNodeName(nodeName)) throw new RangeError(`node name "${nodeName}": lower-case letters, digits, '-' and '.' only`);
  return { commonName: `${NODE_NAME_PREFIX}${nodeName}`, organizations: [NODES_GROUP] };
}

export function controlPlaneIdentity(): CertificateIdentity {
  return { commonName: CONTROL_PLANE_NAME, organizations: [MASTERS_GROUP] };
}

/** The node a certificate identity stands for: `system:node:<name>` in exactly the group system:nodes. */
export function nodeNameOf(identity: CertificateIdentity): string | undefined {
  if (!identity.commonName.startsWith(NODE_NAME_PREFIX)) return undefined;
  if (identity.organizations.length !== 1 || identity.organizations[0] !== NODES_GROUP) return undefined;
  const name = identity.commonName.slice(NODE_NAME_PREFIX.length);
  return isNodeName(name) ? name : undefined;
}
