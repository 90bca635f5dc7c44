import { ALLOWED, forbidden, unauthenticated, type Decision } from './decision';
import { subjectName, type Role, type Subject } from './subjects';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'delete';
export const READ_VERBS: ReadonlySet<Verb> = new Set<Verb>(['get', 'list', 'watch']);

/** One API request as the authorizer sees it (the HTTP adapter maps each route to one). */
export interface ResourceRequest {
  verb: Verb;
  /** The resource, a subresource after a slash: `services`, `services/scale`, `replicas/exec`, `nodes/drain`, `tokens`... */
  resource: string;
  /** For namespaced resources: the namespace; absent or `*` means every namespace. */
  namespace?: string;
  name?: string;
  /** Admin-only fields the request sets (see adminOnlyFields), e.g. `spec.network: host`. */
  adminFields?: readonly string[];
}

type Needs = Role | 'nobody';
interface ResourceRule {
  scope: 'namespaced' | 'cluster';
  /** The least role that may get, list and watch it. */
  read: Needs;
  /** The least role that may create, update and delete it. */
  write: Needs;
}

const namespaced = (read: Needs, write: Needs): ResourceRule => ({ scope: 'namespaced', read, write });
const cluster = (read: Needs, write: Needs): ResourceRule => ({ scope: 'cluster', read, write });

/**
 * Every resource and who may touch it; anything not listed is refused. edit writes what lives in a
 * namespace; cluster-scoped writes (nodes, images, which every namespace shares, tokens) need admin;
 * tokens are not even readable by others. Events are written by the controllers, never by users.
 */
export const RESOURCE_RULES: Readonly<Record<string, ResourceRule>> = {
  services: namespaced('view', 'edit'),
  'services/scale': namespaced('view', 'edit'),
  'services/rollback': namespaced('nobody', 'edit'),
  'services/revisions': namespaced('view', 'nobody'),
  replicas: namespaced('view', 'edit'),
  'replicas/logs': namespaced('view', 'nobody'),
  'replicas/exec': namespaced('nobody', 'edit'),
  'replicas/pause': namespaced('nobody', 'edit'),
  secrets: namespaced('view', 'edit'),
  configmaps: namespaced('view', 'edit'),
  'secrets/reencrypt': cluster('nobody', 'admin'),
  events: namespaced('view', 'admin'),
  'usage/replicas': namespaced('view', 'nobody'),
  // Named local volumes: listed (node, size, users); made by their first replica, deleted (with their data) through the API.
  volumes: namespaced('view', 'edit'),
  nodes: cluster('view', 'admin'),
  'nodes/cordon': cluster('nobody', 'admin'),
  'nodes/drain': cluster('view', 'admin'),
  'usage/nodes': cluster('view', 'nobody'),
  images: cluster('view', 'admin'),
  discovery: cluster('view', 'nobody'),
  metrics: cluster('view', 'nobody'),
  tokens: cluster('admin', 'admin'),
  certificatesigningrequests: cluster('nobody', 'admin'),
  // A user certificate for oneself (its rights are the caller's own); a serving certificate of any name is the admin's.
  'certificates/user': cluster('nobody', 'view'),
  'certificates/serving': cluster('nobody', 'admin'),
};

const RANK: Record<Role, number> = { view: 1, edit: 2, admin: 3 };

/** The role with fewer rights of two. */
export function lesserRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * Whether `subject` may make `request`: 401 without a subject, 403 with the reason otherwise.
 * Nodes and join tokens have their own narrow rights (node.restriction.ts for the gRPC calls).
 */
export function authorize(subject: Subject | undefined, request: ResourceRequest): Decision {
  if (!subject) return unauthenticated('no credentials: send "Authorization: Bearer <token>" or a client certificate');
  const rule = RESOURCE_RULES[request.resource];
  if (!rule) return forbidden(`unknown resource "${request.resource}"`);
  switch (subject.kind) {
    case 'control-plane':
      return ALLOWED;
    case 'join':
      return request.resource === 'certificatesigningrequests' && request.verb === 'create'
        ? ALLOWED
        : forbidden('a join token can only be used to ask for a node certificate');
    case 'node':
      // A node renews its own certificate; everything else it does goes through NodeRestriction.
      return request.resource === 'certificatesigningrequests' && request.verb === 'create' && request.name === subject.name
        ? ALLOWED
        : forbidden(`node ${subject.name} may not ${request.verb} ${request.resource}: nodes use the agent gRPC endpoint`);
    case 'user':
      return authorizeUser(subject, rule, request);
  }
}

function authorizeUser(subject: Extract<Subject, { kind: 'user' }>, rule: ResourceRule, request: ResourceRequest): Decision {
  const read = READ_VERBS.has(request.verb);
  const needs = read ? rule.read : rule.write;
  if (needs === 'nobody') return forbidden(`${request.resource} cannot be ${read ? 'read' : 'written'} this way (${request.verb})`);
  if (RANK[subject.role] < RANK[needs]) return forbidden(roleRefusal(subject.role, needs, rule, request));
  if (subject.role !== 'admin' && rule.scope === 'namespaced' && subject.namespace !== undefined) {
    const wanted = request.namespace;
    if (wanted === undefined || wanted === '*') {
      return forbidden(`${subject.name} is limited to namespace "${subject.namespace}": ask for that namespace, not all of them`);
    }
    if (wanted !== subject.namespace) {
      return forbidden(`${subject.name} is limited to namespace "${subject.namespace}", not "${wanted}"`);
    }
  }
  const adminFields = request.adminFields ?? [];
  if (subject.role !== 'admin' && adminFields.length > 0) {
    return forbidden(`${adminFields.join(', ')}: ${adminFields.length === 1 ? 'needs' : 'need'} the admin role`);
  }
  if (request.resource === 'secrets' && read && subject.role === 'view') return { allowed: true, redact: true };
  return ALLOWED;
}

function roleRefusal(role: Role, needs: Role, rule: ResourceRule, request: ResourceRequest): string {
  const what = `role ${role} may not ${request.verb} ${request.resource}`;
  if (role === 'view') return `${what}: it is read-only`;
  if (rule.scope === 'cluster') return `${what}: it is cluster-wide and needs the ${needs} role`;
  return `${what}: it needs the ${needs} role`;
}

/** What the agent's own HTTP endpoints serve, and to whom. */
export type AgentEndpoint = 'exec' | 'logs' | 'images' | 'metrics' | 'healthz' | 'blobs' | 'warm' | 'volumes';

/**
 * Agent endpoints: exec, logs, image transfer and volumes only for the control plane's client certificate
 * (it proxies users after checking their role); metrics for the control plane or any user token
 * (Prometheus with a view token); healthz for anyone (a liveness probe carries no credential); layer
 * blobs (peer-to-peer pulls) for any node of the cluster too.
 */
export function authorizeAgentEndpoint(subject: Subject | undefined, endpoint: AgentEndpoint): Decision {
  if (endpoint === 'healthz') return ALLOWED;
  if (!subject) return unauthenticated(`no credentials: ${endpoint} needs the control plane's client certificate${endpoint === 'metrics' ? ' or a token' : ''}`);
  if (subject.kind === 'control-plane') return ALLOWED;
  if (endpoint === 'metrics' && subject.kind === 'user') return ALLOWED;
  if (endpoint === 'blobs' && subject.kind === 'node') return ALLOWED;
  return forbidden(`${endpoint} on a node agent is served to the control plane only`);
}

/**
 * The peer endpoint between control planes (PeerService, forwarded usage): only another control plane
 * of the cluster, by its client certificate. A node, a user (an administrator's certificate too) or a
 * join token is refused: what they send there would land unchecked in every instance's usage.
 */
export function authorizePeerCall(subject: Subject | undefined): Decision {
  if (!subject) return unauthenticated('no credentials: the peer endpoint needs the control plane\'s client certificate');
  if (subject.kind === 'control-plane') return ALLOWED;
  return forbidden(`${subjectName(subject)} may not call the peer endpoint: it serves the cluster's other control planes only (their client certificate, CN system:tide-control-plane)`);
}
