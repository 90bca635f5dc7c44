/**
 * Who a certificate speaks for, as Kubernetes spells it: the subject's common name is the user, its
 * organizations the groups. The authorizer (libs/auth) maps these to subjects; the names live here
 * because the CA writes them.
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
/** Group of the control plane's client certificate: full access, like Kubernetes' system:masters. */
export const MASTERS_GROUP = 'system:masters';

// DNS-1123 label rules, the same as node names in libs/api: no commas, equals signs or other
// characters that would need escaping in a distinguished name.
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function nodeIdentity(nodeName: string): CertificateIdentity {
  if (!NODE_NAME.test(nodeName)) {
    throw new RangeError(`node name "${nodeName}": lower-case letters, digits, '-' and '.' only`);
  }
  return { commonName: `${NODE_NAME_PREFIX}${nodeName}`, organizations: [NODES_GROUP] };
}

export function controlPlaneIdentity(): CertificateIdentity {
  return { commonName: CONTROL_PLANE_NAME, organizations: [MASTERS_GROUP] };
}

/** The node a certificate identity stands for, or undefined when it is not a node's. */
export function nodeNameOf(identity: CertificateIdentity): string | undefined {
  if (!identity.commonName.startsWith(NODE_NAME_PREFIX)) return undefined;
  if (identity.organizations.length !== 1 || identity.organizations[0] !== NODES_GROUP) return undefined;
  const name = identity.commonName.slice(NODE_NAME_PREFIX.length);
  return NODE_NAME.test(name) ? name : undefined;
}

/** The X.500 name @peculiar/x509 writes, from an identity (values are checked, so no escaping is needed). */
export function distinguishedName(identity: CertificateIdentity): Array<Record<string, string[]>> {
  const name: Array<Record<string, string[]>> = [{ CN: [identity.commonName] }];
  for (const organization of identity.organizations) name.push({ O: [organization] });
  return name;
}
