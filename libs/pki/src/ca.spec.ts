import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createCertificateAuthority, loadCertificateAuthority } from './ca';
import { describeCertificate } from './certificate.info';
import { controlPlaneIdentity } from './identity';
import { issueClientCertificate, issueServerCertificate } from './issue';
import { verifyIssuedBy } from './validity';

describe('cluster CA', () => {
  it('creates a self-signed CA valid ten years that signs server and client certificates', async () => {
    const now = new Date('2030-06-01T00:00:00Z');
    const ca = await createCertificateAuthority({ now });
    const info = describeCertificate(ca.certificatePem);
    assert.equal(info.isCa, true);
    assert.equal(info.identity.commonName, 'tide-ca');
    assert.equal(info.notAfter.getUTCFullYear(), 2040);
    const server = await issueServerCertificate(ca, { commonName: 'tide-api', dnsNames: ['localhost', 'tide.example'], ipAddresses: ['127.0.0.1', '::1'], now });
    const serverInfo = describeCertificate(server.certificatePem);
    assert.deepEqual(serverInfo.dnsNames, ['localhost', 'tide.example']);
    assert.deepEqual(serverInfo.ipAddresses, ['127.0.0.1', '::1']);
    assert.deepEqual(serverInfo.extendedKeyUsages, ['serverAuth']);
    assert.ok(verifyIssuedBy(server.certificatePem, ca.certificatePem, { now, usage: 'server' }).ok);
    const client = await issueClientCertificate(ca, controlPlaneIdentity(), { now });
    assert.deepEqual(describeCertificate(client.certificatePem).identity, { commonName: 'system:tide-control-plane', organizations: ['system:masters'] });
    assert.ok(verifyIssuedBy(client.certificatePem, ca.certificatePem, { now, usage: 'client' }).ok);
    assert.equal(verifyIssuedBy(client.certificatePem, ca.certificatePem, { now, usage: 'server' }).ok, false);
  });

  it('gives etcd peers one certificate for both ends when asked', async () => {
    const ca = await createCertificateAuthority();
    const peer = await issueServerCertificate(ca, { commonName: 'etcd-1', ipAddresses: ['127.0.0.1'], alsoClient: true });
    assert.deepEqual(describeCertificate(peer.certificatePem).extendedKeyUsages, ['serverAuth', 'clientAuth']);
  });

  it('refuses a server certificate without names, and bad names', async () => {
    const ca = await createCertificateAuthority();
    await assert.rejects(issueServerCertificate(ca, { commonName: 'api' }), /give at least one DNS name or IP address/);
    await assert.rejects(issueServerCertificate(ca, { commonName: 'api', dnsNames: ['bad name'] }), /DNS name "bad name": not a host name/);
    await assert.rejects(issueServerCertificate(ca, { commonName: 'api', ipAddresses: ['300.1.1.1'] }), /IP address "300\.1\.1\.1": not an IPv4 or IPv6 address/);
  });

  it('loads a CA from its PEM texts and signs with it', async () => {
    const made = await createCertificateAuthority();
    const loaded = loadCertificateAuthority(made.certificatePem, made.key.toPem());
    const leaf = await issueServerCertificate(loaded, { commonName: 'x', dnsNames: ['x.test'] });
    assert.ok(verifyIssuedBy(leaf.certificatePem, made.certificatePem, { usage: 'server' }).ok);
  });

  it('refuses a key that is not the CA certificate\'s, a leaf given as CA, and an expired CA, naming the file', async () => {
    const one = await createCertificateAuthority();
    const other = await createCertificateAuthority();
    const files = { certificate: '/etc/tide/ca.crt', key: '/etc/tide/ca.key' };
    assert.throws(() => loadCertificateAuthority(one.certificatePem, other.key.toPem(), files), /\/etc\/tide\/ca\.key: this key does not belong to \/etc\/tide\/ca\.crt/);
    const leaf = await issueServerCertificate(one, { commonName: 'x', dnsNames: ['x.test'] });
    assert.throws(() => loadCertificateAuthority(leaf.certificatePem, leaf.key.toPem(), files), /\/etc\/tide\/ca\.crt: not a CA certificate/);
    const old = await createCertificateAuthority({ now: new Date('2000-01-01T00:00:00Z'), validityMs: 86_400_000 });
    assert.throws(() => loadCertificateAuthority(old.certificatePem, old.key.toPem(), files), /\/etc\/tide\/ca\.crt: expired on 2000-01-02/);
    assert.throws(() => loadCertificateAuthority('not pem', one.key.toPem(), files), /\/etc\/tide\/ca\.crt: no PEM certificate/);
    assert.throws(() => loadCertificateAuthority(one.certificatePem, 'not a key', files), /\/etc\/tide\/ca\.key: not a PEM private key/);
  });

  it('refuses to sign with an expired CA', async () => {
    const old = await createCertificateAuthority({ now: new Date('2000-01-01T00:00:00Z'), validityMs: 86_400_000 });
    await assert.rejects(issueServerCertificate(old, { commonName: 'x', dnsNames: ['x.test'] }), /CA certificate: expired, it can sign nothing/);
  });
});
