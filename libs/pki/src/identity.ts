import type { CertificateIdentity } from '@tide/auth';

// The names themselves (system:node:<name>, system:nodes, the control plane's) belong to libs/auth,
// which reads them back into subjects; the CA only writes them.
export {
  CONTROL_PLANE_NAME, MASTERS_GROUP, NODE_NAME_PREFIX, NODES_GROUP, controlPlaneIdentity, nodeIdentity, nodeNameOf,
  type CertificateIdentity,
} from '@tide/auth';

/** The X.500 name @peculiar/x509 writes, from an identity (node names are checked, so no escaping is needed). */
export function distinguishedName(identity: CertificateIdentity): Array<Record<string, string[]>> {
  const name: Array<Record<string, string[]>> = [{ CN: [identity.commonName] }];
  for (const organization of identity.organizations) name.push({ O: [organization] });
  return name;
}
