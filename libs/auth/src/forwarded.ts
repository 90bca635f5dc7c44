/**
 * A request forwarded on behalf of a caller whose client certificate the forwarder verified (`tsctl
 * docker-serve --tcp`: each Docker client over mutual TLS). The forwarder sends its own credential and
 * the caller's certificate in a header; the control plane verifies the certificate against the cluster
 * CA and acts for the caller, but never beyond the forwarder: the rights are those both hold. So no
 * credential gains anything by forwarding (a certificate is public, anyone may send one), and no
 * caller exceeds its own role through a forwarder holding more (the admin credential of `tsctl up --docker`).
 */
import { forbidden, type Refusal } from './decision';
import { lesserRole } from './authorize';
import type { Subject } from './subjects';

/** The caller's certificate: its DER, base64 (one header line; PEM has line breaks). */
export const FORWARDED_CERTIFICATE_HEADER = 'tide-forwarded-client-certificate';

/**
 * The subject a forwarded request acts as: the caller's name (the forwarder's after "via", for the
 * audit log), the lesser of the two roles, the namespace either is limited to. Only a user forwards,
 * only for a user; two different namespaces share nothing.
 */
export function forwardedSubject(forwarder: Subject, caller: Subject): Subject | Refusal {
  if (forwarder.kind !== 'user') return forbidden(`only a user credential may forward a client certificate (${FORWARDED_CERTIFICATE_HEADER}), not a ${forwarder.kind}'s`);
  if (caller.kind !== 'user') return forbidden(`a forwarded client certificate must be a user's, not a ${caller.kind}'s`);
  if (forwarder.namespace !== undefined && caller.namespace !== undefined && forwarder.namespace !== caller.namespace) {
    return forbidden(`${caller.name} is limited to namespace "${caller.namespace}" and ${forwarder.name}, which forwards it, to "${forwarder.namespace}": they share none`);
  }
  const namespace = forwarder.namespace ?? caller.namespace;
  return {
    kind: 'user', name: `${caller.name} via ${forwarder.name}`, role: lesserRole(forwarder.role, caller.role),
    ...(namespace === undefined ? {} : { namespace }),
  };
}
