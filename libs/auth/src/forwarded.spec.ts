import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { forwardedSubject } from './forwarded';
import { subjectFromCertificate, userIdentity, type Subject } from './subjects';
import { checkTokenCertificate, tokenIdOfUser, type TokenRecord } from './tokens';

const admin: Subject = { kind: 'user', name: 'token:aaaaaaaaaaaa', role: 'admin' };
const editAll: Subject = { kind: 'user', name: 'token:bbbbbbbbbbbb', role: 'edit' };
const editA: Subject = { kind: 'user', name: 'token:cccccccccccc', role: 'edit', namespace: 'a' };
const viewA: Subject = { kind: 'user', name: 'token:dddddddddddd', role: 'view', namespace: 'a' };
const viewB: Subject = { kind: 'user', name: 'token:eeeeeeeeeeee', role: 'view', namespace: 'b' };

describe('a forwarded caller acts with the rights both it and its forwarder hold', () => {
  // [forwarder, caller, role and namespace acted with, or the refusal]
  const table: Array<[string, Subject, Subject, { role: string; namespace?: string } | RegExp]> = [
    ['admin forwarding a view caller: the caller\'s view', admin, viewA, { role: 'view', namespace: 'a' }],
    ['admin forwarding an admin caller: admin', admin, admin, { role: 'admin' }],
    ['edit in all namespaces forwarding an admin: edit, never more than the forwarder', editAll, admin, { role: 'edit' }],
    ['edit in a forwarding view in all namespaces: view in a', editA, { ...viewA, namespace: undefined } as Subject, { role: 'view', namespace: 'a' }],
    ['two namespaces share nothing', editA, viewB, /limited to namespace "b" and token:cccccccccccc, which forwards it, to "a": they share none/],
    ['a node does not forward', { kind: 'node', name: 'node-1' }, viewA, /only a user credential may forward/],
    ['a node\'s certificate is not forwarded', admin, { kind: 'node', name: 'node-1' }, /must be a user's, not a node's/],
  ];
  for (const [name, forwarder, caller, expected] of table) {
    it(name, () => {
      const acted = forwardedSubject(forwarder, caller);
      if (expected instanceof RegExp) {
        assert.ok('allowed' in acted && acted.status === 403, JSON.stringify(acted));
        assert.match(acted.reason, expected);
        return;
      }
      assert.ok(!('allowed' in acted) && acted.kind === 'user', JSON.stringify(acted));
      assert.deepEqual({ role: acted.role, ...(acted.namespace === undefined ? {} : { namespace: acted.namespace }) }, expected);
      assert.equal(acted.name, `${(caller as { name: string }).name} via ${(forwarder as { name: string }).name}`);
    });
  }
});

describe('user certificates', () => {
  it('carry the role and namespace as groups, read back as the same subject', () => {
    assert.deepEqual(userIdentity(viewA), { commonName: 'token:dddddddddddd', organizations: ['tide:role:view', 'tide:namespace:a'] });
    for (const subject of [admin, editAll, editA, viewA]) assert.deepEqual(subjectFromCertificate(userIdentity(subject)), subject);
  });

  // Identities no user certificate has: each names no Tide identity (401).
  const refused: Array<[string, string, string[]]> = [
    ['two roles', 'alice', ['tide:role:view', 'tide:role:admin']],
    ['an admin limited to a namespace', 'alice', ['tide:role:admin', 'tide:namespace:a']],
    ['an unknown role', 'alice', ['tide:role:root']],
    ['another group beside the role', 'alice', ['tide:role:view', 'team']],
    ['a system name', 'system:node:x', ['tide:role:view']],
    ['a namespace that is no name', 'alice', ['tide:role:view', 'tide:namespace:A_B']],
  ];
  for (const [name, commonName, organizations] of refused) {
    it(`refuses ${name}`, () => assert.equal((subjectFromCertificate({ commonName, organizations }) as { status?: number }).status, 401));
  }

  const record = (extra: Partial<TokenRecord> = {}): TokenRecord => ({ id: 'dddddddddddd', kind: 'user', secretHash: 'sha256:x', createdAt: '2026-01-01T00:00:00Z', role: 'view', ...extra });
  const now = new Date('2026-06-01T00:00:00Z');
  it('live only as long as their token', () => {
    assert.equal(tokenIdOfUser('token:dddddddddddd'), 'dddddddddddd');
    assert.equal(tokenIdOfUser('alice'), undefined);
    assert.deepEqual(checkTokenCertificate(viewA, record(), now), viewA);
    assert.match((checkTokenCertificate(viewA, undefined, now) as { reason: string }).reason, /token dddddddddddd: the token is revoked or unknown/);
    assert.match((checkTokenCertificate(viewA, record({ expiresAt: '2026-05-01T00:00:00Z' }), now) as { reason: string }).reason, /expired at 2026-05-01/);
    // An administrator's certificate (not a token's) has no token to check.
    const alice: Subject = { kind: 'user', name: 'alice', role: 'admin' };
    assert.deepEqual(checkTokenCertificate(alice, undefined, now), alice);
  });
});
