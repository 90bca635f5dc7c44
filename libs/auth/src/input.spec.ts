import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { adminOnlyFields } from './admin.fields';
import { parseTtl } from './duration';
import { checkHost } from './host';
import { controlPlaneIdentity, nodeIdentity, nodeNameOf } from './identity.names';
import { identityFromTlsSubject, parseNamespace, parseRole, subjectFromCertificate, subjectName } from './subjects';

describe('--ttl', () => {
  // [input, milliseconds]
  const good: Array<[string, number]> = [
    ['30s', 30_000], ['90m', 5_400_000], ['24h', 86_400_000], ['1h30m', 5_400_000], ['7d', 604_800_000], ['2w', 1_209_600_000], [' 1h ', 3_600_000],
  ];
  for (const [text, ms] of good) it(`reads ${JSON.stringify(text)}`, () => assert.deepEqual(parseTtl(text), { ok: true, value: ms }));
  const bad: Array<[string, RegExp]> = [
    ['24', /--ttl: "24" is not a duration \(e\.g\. 30m, 24h, 7d, 1h30m\)/], ['1.5h', /not a duration/], ['-1h', /not a duration/], ['', /not a duration/],
    ['0s', /at least 1s/], ['400d', /at most 366d/],
  ];
  for (const [text, reason] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const result = parseTtl(text);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    });
  }
});

describe('roles and namespaces', () => {
  it('knows admin, edit and view only', () => {
    assert.deepEqual(parseRole('edit'), { ok: true, value: 'edit' });
    assert.deepEqual(parseRole('root'), { ok: false, reason: '--role: "root" is not a role (admin, edit or view)' });
    assert.deepEqual(parseNamespace('team-a'), { ok: true, value: 'team-a' });
    assert.equal(parseNamespace('Team_A').ok, false);
  });
});

describe('certificate subjects', () => {
  const table: Array<[string, { commonName: string; organizations: string[] }, unknown]> = [
    ['a node', nodeIdentity('node-1'), { kind: 'node', name: 'node-1' }],
    ['the control plane', controlPlaneIdentity(), { kind: 'control-plane' }],
    ['an administrator', { commonName: 'alice', organizations: ['system:masters'] }, { kind: 'user', name: 'alice', role: 'admin' }],
    ['a node name without the nodes group', { commonName: 'system:node:node-1', organizations: [] }, { allowed: false, status: 401, reason: 'the client certificate "system:node:node-1" names no Tide identity' }],
    ['a node that also claims masters', { commonName: 'system:node:node-1', organizations: ['system:nodes', 'system:masters'] }, { allowed: false, status: 401, reason: 'the client certificate "system:node:node-1" names no Tide identity' }],
    ['a system name posing as admin', { commonName: 'system:anything', organizations: ['system:masters'] }, { allowed: false, status: 401, reason: 'the client certificate "system:anything" names no Tide identity' }],
    ['a plain certificate', { commonName: 'bob', organizations: [] }, { allowed: false, status: 401, reason: 'the client certificate "bob" names no Tide identity' }],
  ];
  for (const [name, identity, expected] of table) it(name, () => assert.deepEqual(subjectFromCertificate(identity), expected));

  it("reads node:tls' subject objects", () => {
    assert.deepEqual(identityFromTlsSubject({ CN: 'system:node:node-1', O: 'system:nodes' }), nodeIdentity('node-1'));
    assert.deepEqual(identityFromTlsSubject({ CN: 'alice', O: ['system:masters', 'team'] }), { commonName: 'alice', organizations: ['system:masters', 'team'] });
    assert.deepEqual(identityFromTlsSubject({ CN: ['a', 'b'] }), { commonName: '', organizations: [] });
    assert.deepEqual(identityFromTlsSubject(undefined), { commonName: '', organizations: [] });
  });

  it('names subjects for audit lines', () => {
    assert.equal(subjectName({ kind: 'node', name: 'node-1' }), 'system:node:node-1');
    assert.equal(subjectName({ kind: 'join', tokenId: 'abc' }), 'join:abc');
    assert.equal(nodeNameOf(nodeIdentity('n.example')), 'n.example');
    assert.throws(() => nodeIdentity('Bad,Name'), /node name "Bad,Name"/);
  });
});

describe('Host header', () => {
  const names = ['localhost', '127.0.0.1', '::1', 'tide.example.'];
  const table: Array<[string | undefined, string | RegExp]> = [
    ['127.0.0.1:7070', '127.0.0.1'],
    ['LOCALHOST:7070', 'localhost'],
    ['[::1]:7070', '::1'],
    ['tide.example', 'tide.example'],
    ['tide.example.:443', 'tide.example'],
    ['evil.example:7070', /Host "evil\.example" is not a name of this server \(localhost, 127\.0\.0\.1, ::1, tide\.example\)/],
    ['127.0.0.1.nip.io', /not a name of this server/],
    ['a b', /malformed Host header/],
    ['user@127.0.0.1', /malformed Host header/],
    [undefined, /missing Host header/],
  ];
  for (const [header, expected] of table) {
    it(`${JSON.stringify(header)}`, () => {
      const result = checkHost(header, names);
      if (typeof expected === 'string') return assert.deepEqual(result, { ok: true, value: expected });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, expected);
    });
  }
});

describe('admin-only fields', () => {
  it('finds every field that hands a container the host', () => {
    const service = {
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' },
      spec: {
        image: 'web:1', network: 'host', hostPID: true, privileged: true,
        securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] }, seccompProfile: { type: 'Unconfined' } },
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'root', hostPath: { path: '/' } }],
      },
    };
    assert.deepEqual(adminOnlyFields(service), [
      'spec.network: host', 'spec.hostPID', 'spec.privileged', 'spec.securityContext.privileged', 'spec.securityContext.capabilities.add',
      'spec.securityContext.seccompProfile.type: Unconfined', 'spec.volumes[1].hostPath',
    ]);
  });
  it('finds none in an ordinary service, or in garbage', () => {
    const plain = { spec: { image: 'web:1', network: 'bridge', securityContext: { privileged: false, capabilities: { add: [] }, seccompProfile: { type: 'RuntimeDefault' } } } };
    assert.deepEqual(adminOnlyFields(plain), []);
    for (const garbage of [null, 'x', [], { spec: 'x' }]) assert.deepEqual(adminOnlyFields(garbage), []);
  });
});
