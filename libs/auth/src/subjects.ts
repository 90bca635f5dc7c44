import { unauthenticated, type Parsed, type Refusal } from './decision';
import { CONTROL_PLANE_NAME, MASTERS_GROUP, nodeNameOf, NODE_NAME_PREFIX, type CertificateIdentity } from './identity.names';

export type Role = 'admin' | 'edit' | 'view';
export const ROLES: readonly Role[] = ['admin', 'edit', 'view'];

/** Who is calling, once authenticated. */
export type Subject =
  /** A person or program with a bearer token (`token:<id>`) or an administrator's certificate (its CN). */
  | { kind: 'user'; name: string; role: Role; /** edit and view: the one namespace, or all when absent. */ namespace?: string }
  /** A node agent with its node certificate. */
  | { kind: 'node'; name: string }
  /** The control plane's client certificate (towards agents). */
  | { kind: 'control-plane' }
  /** A join token before the node has its certificate: it may only ask for one. */
  | { kind: 'join'; tokenId: string; nodeName?: string };

/** The name an audit line and an error message give a subject. */
export function subjectName(subject: Subject): string {
  switch (subject.kind) {
    case 'user': return subject.name;
    case 'node': return `${NODE_NAME_PREFIX}${subject.name}`;
    case 'control-plane': return CONTROL_PLANE_NAME;
    case 'join': return `join:${subject.tokenId}`;
  }
}

/**
 * The identity in node:tls' view of a verified peer certificate (`socket.getPeerCertificate().subject`,
 * grpc-js' auth context): a field repeated in the subject comes as an array there.
 */
export function identityFromTlsSubject(subject: { CN?: string | string[]; O?: string | string[] } | undefined): CertificateIdentity {
  const list = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  const names = list(subject?.CN);
  // Two common names are ambiguous: treat as none, which names no identity.
  return { commonName: names.length === 1 ? names[0] : '', organizations: list(subject?.O) };
}

/** The subject a verified client certificate stands for, or a 401 when it names none Tide knows. */
export function subjectFromCertificate(identity: CertificateIdentity): Subject | Refusal {
  const node = nodeNameOf(identity);
  if (node !== undefined) return { kind: 'node', name: node };
  const masters = identity.organizations.includes(MASTERS_GROUP);
  if (identity.commonName === CONTROL_PLANE_NAME && masters) return { kind: 'control-plane' };
  if (masters && identity.commonName !== '' && !identity.commonName.startsWith('system:')) {
    return { kind: 'user', name: identity.commonName, role: 'admin' };
  }
  return unauthenticated(`the client certificate "${identity.commonName}" names no Tide identity`);
}

export function parseRole(text: string, field = '--role'): Parsed<Role> {
  return (ROLES as readonly string[]).includes(text)
    ? { ok: true, value: text as Role }
    : { ok: false, reason: `${field}: "${text}" is not a role (admin, edit or view)` };
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseNamespace(text: string, field = '--namespace'): Parsed<string> {
  return NAMESPACE.test(text)
    ? { ok: true, value: text }
    : { ok: false, reason: `${field}: "${text}" must be lower-case letters, digits and '-'` };
}
