import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  authenticateToken, createJoinToken, createUserToken, hashSecret, parseAuthorization, parseToken, useJoinToken, type NewToken, type TokenRecord,
} from './tokens';

const now = new Date('2030-01-01T00:00:00Z');
const HOUR = 3_600_000;
const made = (result: { ok: true; value: NewToken } | { ok: false; reason: string }): NewToken => {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.value;
};

describe('bearer tokens', () => {
  it('are tide_<id>_<secret> with 32 random bytes, and only the hash of the secret is stored', () => {
    const { token, record } = made(createUserToken({ role: 'view', namespace: 'a', ttlMs: 24 * HOUR, now }));
    assert.match(token, /^tide_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const presented = parseToken(token);
    assert.ok(presented);
    assert.equal(Buffer.from(presented.secret, 'base64url').length, 32);
    assert.equal(record.id, presented.id);
    assert.equal(record.secretHash, hashSecret(presented.secret));
    assert.ok(!JSON.stringify(record).includes(presented.secret), 'the secret is not in the record');
    assert.deepEqual({ ...record, id: 'x', secretHash: 'x' }, {
      id: 'x', secretHash: 'x', kind: 'user', role: 'view', namespace: 'a', createdAt: '2030-01-01T00:00:00.000Z', expiresAt: '2030-01-02T00:00:00.000Z',
    });
  });

  it('uses the random source it is given (ids differ between tokens)', () => {
    let counter = 0;
    const random = (size: number) => new Uint8Array(size).fill(++counter);
    const one = made(createUserToken({ role: 'admin' }, random));
    const two = made(createUserToken({ role: 'admin' }, random));
    assert.equal(one.record.id, '010101010101');
    assert.notEqual(one.record.id, two.record.id);
    assert.equal(one.record.expiresAt, undefined, 'no --ttl: no expiry');
  });

  it('refuses a namespace on an admin token', () => {
    assert.deepEqual(createUserToken({ role: 'admin', namespace: 'a' }), { ok: false, reason: '--namespace: the admin role is cluster-wide; use edit or view for one namespace' });
  });

  describe('authentication', () => {
    const { token, record } = made(createUserToken({ role: 'edit', namespace: 'a', ttlMs: HOUR, now }));
    const presented = parseToken(token)!;
    const forged = { ...presented, secret: presented.secret.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
    const table: Array<[string, () => unknown, unknown]> = [
      ['the right secret → its user', () => authenticateToken(presented, record, now), { kind: 'user', name: `token:${record.id}`, role: 'edit', namespace: 'a' }],
      ['a wrong secret → 401 without saying more', () => authenticateToken(forged, record, now), { allowed: false, status: 401, reason: 'invalid token' }],
      ['a revoked (deleted) token → 401', () => authenticateToken(presented, undefined, now), { allowed: false, status: 401, reason: `unknown or revoked token ${record.id}` }],
      ['expired → 401', () => authenticateToken(presented, record, new Date(now.getTime() + HOUR)), { allowed: false, status: 401, reason: `token ${record.id} expired at 2030-01-01T01:00:00.000Z` }],
      ['a record under another id → 401', () => authenticateToken(presented, { ...record, id: '000000000000' }, now), { allowed: false, status: 401, reason: `unknown or revoked token ${record.id}` }],
    ];
    for (const [name, run, expected] of table) it(name, () => assert.deepEqual(run(), expected));
  });

  it('reads the Authorization header, telling no credentials from a malformed one (both 401)', () => {
    const { token } = made(createUserToken({ role: 'view' }));
    assert.deepEqual(parseAuthorization(`Bearer ${token}`), parseToken(token));
    assert.deepEqual(parseAuthorization(`bearer  ${token} `), parseToken(token));
    const refusals: Array<[string | undefined, RegExp]> = [
      [undefined, /^no credentials/],
      ['', /^no credentials/],
      [`Basic ${token}`, /must be "Bearer <token>"/],
      ['Bearer tide_123_abc', /malformed token: expected tide_<id>_<secret>/],
      [`Bearer ${token}x`, /malformed token/],
    ];
    for (const [header, reason] of refusals) {
      const result = parseAuthorization(header);
      assert.ok('allowed' in result && result.status === 401, String(header));
      assert.match('reason' in result ? result.reason : '', reason);
    }
  });
});

describe('join tokens', () => {
  it('expire after an hour by default and authenticate as a join subject only', () => {
    const { token, record } = made(createJoinToken({ now }));
    assert.equal(record.kind, 'join');
    assert.equal(record.expiresAt, '2030-01-01T01:00:00.000Z');
    assert.deepEqual(authenticateToken(parseToken(token)!, record, now), { kind: 'join', tokenId: record.id });
    assert.equal((authenticateToken(parseToken(token)!, record, new Date('2030-01-01T01:00:00Z')) as { status: number }).status, 401);
  });

  const bound: TokenRecord = made(createJoinToken({ now, nodeName: 'node-7', maxUses: 1 })).record;
  const open: TokenRecord = made(createJoinToken({ now, ttlMs: 2 * HOUR })).record;
  const user: TokenRecord = made(createUserToken({ role: 'admin', now })).record;
  const later = new Date(now.getTime() + 90 * 60_000);
  const table: Array<[string, TokenRecord, string, Date, RegExp | number]> = [
    ['bound token, its node', bound, 'node-7', now, 1],
    ['bound token, another node', bound, 'node-8', now, /is for node "node-7", not "node-8"/],
    ['bound token, used up', { ...bound, uses: 1 }, 'node-7', now, /has been used 1 time\(s\), its limit/],
    ['open token, any node, twice', { ...open, uses: 1 }, 'node-9', now, 2],
    ['open token after 90 min (ttl 2h)', open, 'node-9', later, 1],
    ['bound token after 90 min (ttl 1h)', bound, 'node-7', later, /expired at 2030-01-01T01:00:00\.000Z/],
    ['a user token', user, 'node-7', now, /is not a join token/],
  ];
  for (const [name, record, nodeName, at, expected] of table) {
    it(name, () => {
      const result = useJoinToken(record, nodeName, at);
      if (typeof expected === 'number') {
        assert.ok(result.ok, result.ok ? '' : result.reason);
        return assert.equal(result.value.uses, expected);
      }
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, expected);
    });
  }

  it('refuses a bad node name or use count', () => {
    assert.match(JSON.stringify(createJoinToken({ nodeName: 'Node_1' })), /--node: \\"Node_1\\" is not a node name/);
    assert.match(JSON.stringify(createJoinToken({ maxUses: 0 })), /--uses: must be a whole number of at least 1/);
  });
});
