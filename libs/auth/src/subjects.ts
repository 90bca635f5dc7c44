import { unauthenticated, type Parsed, type Refusal } from './decision';
import {
  CONTROL_PLANE_NAME, MASTERS_GROUP, NAMESPACE_GROUP_PREFIX, nodeNameOf, NODE_NAME_PREFIX, ROLE_GROUP_PREFIX, type CertificateIdentity,
} from './identity.names';

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
  const userName = identity.commonName !== '' && !identity.commonName.startsWith('system:');
  if (masters && userName) return { kind: 'user', name: identity.commonName, role: 'admin' };
  const user = userName && !masters ? userFromGroups(identity) : undefined;
  return user ?? unauthenticated(`the client certificate "${identity.commonName}" names no Tide identity`);
}

type UserSubject = Extract<Subject, { kind: 'user' }>;

/** The identity of a user certificate: its name, its role and (edit, view) its one namespace as groups. */
export function userIdentity(subject: UserSubject): CertificateIdentity {
  const namespace = subject.namespace === undefined ? [] : [`${NAMESPACE_GROUP_PREFIX}${subject.namespace}`];
  return { commonName: subject.name, organizations: [`${ROLE_GROUP_PREFIX}${subject.role}`, ...namespace] };
}

/** userIdentity read back: exactly one role group and at most one namespace group, nothing else. */
function userFromGroups(identity: CertificateIdentity): UserSubject | undefined {
  const roles = identity.organizations.filter((o) => o.startsWith(ROLE_GROUP_PREFIX)).map((o) => o.slice(ROLE_GROUP_PREFIX.length));
  const namespaces = identity.organizations.filter((o) => o.startsWith(NAMESPACE_GROUP_PREFIX)).map((o) => o.slice(NAMESPACE_GROUP_PREFIX.length));
  if (roles.length !== 1 || namespaces.length > 1 || roles.length + namespaces.length !== identity.organizations.length) return undefined;
  const role = parseRole(roles[0]);
  if (!role.ok || (role.value === 'admin' && namespaces.length > 0)) return undefined;
  if (namespaces.length > 0 && !parseNamespace(namespaces[0]).ok) return undefined;
  return { kind: 'user', name: identity.commonName, role: role.value, ...(namespaces.length > 0 ? { namespace: namespaces[0] } : {}) };
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
