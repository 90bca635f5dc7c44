import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from './ca';
import { describeCertificate } from './certificate.info';
import { signCertificateRequest } from './csr';
import { nodeIdentity } from './identity';
import { issueClientCertificate, issueServerCertificate, type CertificateAuthority } from './issue';
import { readCertificateAuthorityFiles } from './pem.files';
import { caPin } from './pin';

// Debian's openssl (scripts/setup.sh installs it) as an independent judge of what this lib makes.

describe('openssl interop', () => {
  let dir: string;
  let ca: CertificateAuthority;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  /** `openssl verify` with a purpose: true when it prints OK. */
  const verifies = (caPath: string, purpose: string, certificatePath: string) =>
    spawnSync('openssl', ['verify', '-CAfile', caPath, '-purpose', purpose, certificatePath], { encoding: 'utf8' }).status === 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tide-openssl-'));
    ca = await createCertificateAuthority();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('openssl verify accepts the server and client chains for their purpose only', async () => {
    const caPath = file('ca.crt', ca.certificatePem);
    const server = file('server.crt', (await issueServerCertificate(ca, { commonName: 'api', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })).certificatePem);
    const client = file('client.crt', (await issueClientCertificate(ca, nodeIdentity('node-1'))).certificatePem);
    assert.equal(verifies(caPath, 'sslserver', server), true);
    assert.equal(verifies(caPath, 'sslclient', client), true);
    assert.equal(verifies(caPath, 'sslclient', server), false, 'a server certificate is no client certificate');
    assert.equal(verifies(caPath, 'sslserver', client), false, 'a client certificate is no server certificate');
    const other = file('other.crt', (await createCertificateAuthority()).certificatePem);
    assert.equal(verifies(other, 'sslserver', server), false, 'another CA does not vouch for it');
    const text = execFileSync('openssl', ['x509', '-in', server, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    assert.match(text, /DNS:localhost, IP Address:127\.0\.0\.1/);
  });

  it("the pin is kubeadm's: openssl's SPKI DER through sha256", () => {
    const caPath = file('pin-ca.crt', ca.certificatePem);
    const spki = execFileSync('sh', ['-c', `openssl x509 -pubkey -noout -in '${caPath}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex`], { encoding: 'utf8' });
    assert.equal(caPin(ca.certificatePem), `sha256:${/([0-9a-f]{64})/.exec(spki)?.[1]}`);
  });

  it('signs a CSR made by openssl, whose key stays in its file', async () => {
    const keyPath = join(dir, 'node-7.key');
    const csr = execFileSync('openssl', [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath,
      '-subj', '/CN=system:node:node-7/O=system:nodes', '-addext', 'extendedKeyUsage=clientAuth',
    ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const signed = await signCertificateRequest(ca, csr, { allowedIdentity: nodeIdentity('node-7') });
    assert.ok(signed.ok, signed.ok ? '' : signed.reason);
    assert.equal(verifies(file('csr-ca.crt', ca.certificatePem), 'sslclient', file('node-7.crt', signed.value)), true);
    // The certificate and the key openssl kept belong together.
    const modulus = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });
    assert.equal(
      modulus(['pkey', '-in', keyPath, '-pubout']),
      modulus(['x509', '-in', join(dir, 'node-7.crt'), '-noout', '-pubkey']),
    );
    const refused = await signCertificateRequest(ca, csr, { allowedIdentity: nodeIdentity('node-8') });
    assert.equal(refused.ok, false);
  });

  it('loads an RSA CA made by openssl (--ca-cert/--ca-key) and signs with it', async () => {
    const certPath = join(dir, 'rsa-ca.crt');
    const keyPath = join(dir, 'rsa-ca.key');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30',
      '-subj', '/CN=corporate-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ], { stdio: 'ignore' });
    const rsaCa = await readCertificateAuthorityFiles(certPath, keyPath);
    assert.equal(rsaCa.key.algorithm, 'RSA');
    const server = await issueServerCertificate(rsaCa, { commonName: 'api', ipAddresses: ['127.0.0.1'] });
    assert.equal(describeCertificate(server.certificatePem).issuer, 'CN=corporate-ca');
    assert.equal(verifies(certPath, 'sslserver', file('rsa-server.crt', server.certificatePem)), true);
    assert.equal(readFileSync(certPath, 'utf8'), rsaCa.certificatePem);
  });
});
