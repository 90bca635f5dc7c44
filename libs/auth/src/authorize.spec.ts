import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { authorize, authorizeAgentEndpoint, authorizePeerCall, RESOURCE_RULES, type AgentEndpoint, type ResourceRequest } from './authorize';
import type { Subject } from './subjects';

const admin: Subject = { kind: 'user', name: 'token:aaaaaaaaaaaa', role: 'admin' };
const editAll: Subject = { kind: 'user', name: 'token:bbbbbbbbbbbb', role: 'edit' };
const editA: Subject = { kind: 'user', name: 'token:cccccccccccc', role: 'edit', namespace: 'a' };
const viewAll: Subject = { kind: 'user', name: 'token:dddddddddddd', role: 'view' };
const viewA: Subject = { kind: 'user', name: 'token:eeeeeeeeeeee', role: 'view', namespace: 'a' };
const node1: Subject = { kind: 'node', name: 'node-1' };
const controlPlane: Subject = { kind: 'control-plane' };
const join: Subject = { kind: 'join', tokenId: 'ffffffffffff' };

// [who, request, expected]: expected is 'allow', 'redact' (allowed, Secret values hidden), 401, or
// [403, what the reason must say].
type Expected = 'allow' | 'redact' | 401 | [403, RegExp];
const r = (verb: ResourceRequest['verb'], resource: string, namespace?: string, extra: Partial<ResourceRequest> = {}): ResourceRequest =>
  ({ verb, resource, ...(namespace === undefined ? {} : { namespace }), ...extra });

const table: Array<[string, Subject | undefined, ResourceRequest, Expected]> = [
  // No credentials: 401 whatever is asked, even a read.
  ['anonymous get', undefined, r('get', 'services', 'a'), 401],
  ['anonymous apply', undefined, r('create', 'services', 'a'), 401],
  // admin: everything, admin-only fields and tokens included.
  ['admin apply host network', admin, r('create', 'services', 'b', { adminFields: ['spec.network: host'] }), 'allow'],
  ['admin create token', admin, r('create', 'tokens'), 'allow'],
  ['admin list tokens', admin, r('list', 'tokens'), 'allow'],
  ['admin drain', admin, r('create', 'nodes/drain', undefined, { name: 'node-1' }), 'allow'],
  ['admin import image', admin, r('create', 'images'), 'allow'],
  ['admin exec', admin, r('create', 'replicas/exec', 'a'), 'allow'],
  ['admin read secrets in clear', admin, r('get', 'secrets', 'a'), 'allow'],
  // edit (all namespaces): namespaced reads and writes, never cluster-scoped writes or tokens.
  ['edit apply', editAll, r('create', 'services', 'b'), 'allow'],
  ['edit scale', editAll, r('update', 'services/scale', 'b'), 'allow'],
  ['edit rollback', editAll, r('create', 'services/rollback', 'b'), 'allow'],
  ['edit delete', editAll, r('delete', 'services', 'b'), 'allow'],
  ['edit exec', editAll, r('create', 'replicas/exec', 'b'), 'allow'],
  ['edit list all namespaces', editAll, r('list', 'services', '*'), 'allow'],
  ['edit read nodes', editAll, r('list', 'nodes'), 'allow'],
  ['edit cordon', editAll, r('create', 'nodes/cordon', undefined, { name: 'node-1' }), [403, /role edit may not create nodes\/cordon: it is cluster-wide and needs the admin role/]],
  ['edit delete node', editAll, r('delete', 'nodes', undefined, { name: 'node-1' }), [403, /cluster-wide/]],
  ['edit import image', editAll, r('create', 'images'), [403, /cluster-wide/]],
  ['edit create token', editAll, r('create', 'tokens'), [403, /role edit may not create tokens/]],
  ['edit list tokens', editAll, r('list', 'tokens'), [403, /role edit may not list tokens/]],
  ['edit host network', editAll, r('create', 'services', 'b', { adminFields: ['spec.network: host'] }), [403, /^spec\.network: host: needs the admin role$/]],
  ['edit privileged and hostPath', editAll, r('update', 'services', 'b', { adminFields: ['spec.securityContext.privileged', 'spec.volumes[0].hostPath'] }),
    [403, /^spec\.securityContext\.privileged, spec\.volumes\[0\]\.hostPath: need the admin role$/]],
  ['edit unconfined seccomp', editAll, r('create', 'services', 'b', { adminFields: ['spec.securityContext.seccompProfile.type: Unconfined'] }), [403, /seccompProfile\.type: Unconfined: needs the admin role/]],
  ['edit write events', editAll, r('create', 'events', 'b'), [403, /needs the admin role/]],
  // edit for namespace a: the same, in a only.
  ['edit(a) apply in a', editA, r('create', 'services', 'a'), 'allow'],
  ['edit(a) apply in b', editA, r('create', 'services', 'b'), [403, /limited to namespace "a", not "b"/]],
  ['edit(a) read in b', editA, r('get', 'services', 'b'), [403, /limited to namespace "a", not "b"/]],
  ['edit(a) list all', editA, r('list', 'services', '*'), [403, /limited to namespace "a": ask for that namespace/]],
  ['edit(a) list without namespace', editA, r('list', 'replicas'), [403, /limited to namespace "a"/]],
  ['edit(a) exec in b', editA, r('create', 'replicas/exec', 'b'), [403, /not "b"/]],
  ['edit(a) read nodes (cluster-scoped read)', editA, r('list', 'nodes'), 'allow'],
  // view: reads only.
  ['view get', viewAll, r('get', 'services', 'a'), 'allow'],
  ['view logs', viewAll, r('get', 'replicas/logs', 'a'), 'allow'],
  ['view watch events', viewAll, r('watch', 'events', 'a'), 'allow'],
  ['view metrics', viewAll, r('get', 'metrics'), 'allow'],
  ['view apply', viewAll, r('create', 'services', 'a'), [403, /role view may not create services: it is read-only/]],
  ['view delete', viewAll, r('delete', 'services', 'a'), [403, /read-only/]],
  ['view scale', viewAll, r('update', 'services/scale', 'a'), [403, /read-only/]],
  ['view exec', viewAll, r('create', 'replicas/exec', 'a'), [403, /read-only/]],
  ['view list tokens', viewAll, r('list', 'tokens'), [403, /role view may not list tokens/]],
  ['view secrets are redacted', viewAll, r('get', 'secrets', 'a'), 'redact'],
  ['view(a) in b', viewA, r('get', 'services', 'b'), [403, /limited to namespace "a", not "b"/]],
  ['view(a) in a', viewA, r('list', 'services', 'a'), 'allow'],
  // Nodes, the control plane and join tokens.
  ['node on the API', node1, r('list', 'services', 'a'), [403, /node node-1 may not list services: nodes use the agent gRPC endpoint/]],
  ['node renews its own certificate', node1, r('create', 'certificatesigningrequests', undefined, { name: 'node-1' }), 'allow'],
  ["node asks for another's certificate", node1, r('create', 'certificatesigningrequests', undefined, { name: 'node-2' }), [403, /nodes use the agent gRPC endpoint/]],
  ['control plane', controlPlane, r('delete', 'nodes', undefined, { name: 'node-1' }), 'allow'],
  ['join token asks for a certificate', join, r('create', 'certificatesigningrequests'), 'allow'],
  ['join token reads services', join, r('list', 'services', 'a'), [403, /a join token can only be used to ask for a node certificate/]],
  // Deny by default.
  ['unknown resource', admin, r('get', 'pods', 'a'), [403, /unknown resource "pods"/]],
  ['write to a read-only subresource', admin, r('delete', 'replicas/logs', 'a'), [403, /replicas\/logs cannot be written this way \(delete\)/]],
];

describe('authorize (roles)', () => {
  for (const [name, subject, request, expected] of table) {
    it(name, () => {
      const decision = authorize(subject, request);
      if (expected === 'allow') return assert.deepEqual(decision, { allowed: true });
      if (expected === 'redact') return assert.deepEqual(decision, { allowed: true, redact: true });
      assert.equal(decision.allowed, false);
      if (decision.allowed) return;
      if (expected === 401) {
        assert.equal(decision.status, 401);
        return assert.match(decision.reason, /no credentials/);
      }
      assert.equal(decision.status, 403);
      assert.match(decision.reason, expected[1]);
    });
  }

  it('every namespaced resource refuses a namespace-bound edit token elsewhere', () => {
    for (const [resource, rule] of Object.entries(RESOURCE_RULES)) {
      if (rule.scope !== 'namespaced') continue;
      const verb = rule.read !== 'nobody' ? 'get' : 'create';
      const decision = authorize(editA, { verb, resource, namespace: 'b' });
      assert.equal(decision.allowed, false, resource);
    }
  });
});

describe('agent endpoints', () => {
  const table: Array<[string, Subject | undefined, AgentEndpoint, 'allow' | 401 | 403]> = [
    ['control plane execs', controlPlane, 'exec', 'allow'],
    ['control plane reads logs', controlPlane, 'logs', 'allow'],
    ['control plane moves images', controlPlane, 'images', 'allow'],
    ['a node fetches layer blobs from a peer', node1, 'blobs', 'allow'],
    ['a user token cannot fetch blobs from an agent', admin, 'blobs', 403],
    ['anonymous blobs', undefined, 'blobs', 401],
    ['admin token cannot exec directly', admin, 'exec', 403],
    ['a node cannot exec on another', node1, 'exec', 403],
    ['nobody cannot exec', undefined, 'exec', 401],
    ['view token scrapes metrics', viewAll, 'metrics', 'allow'],
    ['a node cannot scrape', node1, 'metrics', 403],
    ['anonymous scrape', undefined, 'metrics', 401],
    ['anonymous healthz', undefined, 'healthz', 'allow'],
  ];
  for (const [name, subject, endpoint, expected] of table) {
    it(name, () => {
      const decision = authorizeAgentEndpoint(subject, endpoint);
      if (expected === 'allow') return assert.equal(decision.allowed, true);
      assert.equal(decision.allowed ? 200 : decision.status, expected);
    });
  }
});

describe('authorizePeerCall', () => {
  it('lets only another control plane forward usage', () => {
    assert.equal(authorizePeerCall(controlPlane).allowed, true);
    assert.deepEqual(authorizePeerCall(undefined), { allowed: false, status: 401, reason: 'no credentials: the peer endpoint needs the control plane\'s client certificate' });
    for (const [subject, name] of [[node1, 'system:node:node-1'], [admin, 'token:aaaaaaaaaaaa'], [join, 'join:ffffffffffff']] as const) {
      const decision = authorizePeerCall(subject);
      assert.equal(decision.allowed ? 200 : decision.status, 403);
      assert.match(decision.allowed ? '' : decision.reason, new RegExp(`^${name} may not call the peer endpoint`));
    }
  });
});
