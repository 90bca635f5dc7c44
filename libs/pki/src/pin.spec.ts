import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createCertificateAuthority } from './ca';
import { issueClientCertificate, issueServerCertificate } from './issue';
import { nodeIdentity } from './identity';
import { caPin, certificatePemFromDer, parseCaPin, trustPresentedChain, verifyCaPin } from './pin';
import { x509 } from './x509.provider';

describe('CA pin', () => {
  it('is sha256 of the DER SubjectPublicKeyInfo, and survives a CA re-issued with the same key', async () => {
    const ca = await createCertificateAuthority();
    const pin = caPin(ca.certificatePem);
    assert.match(pin, /^sha256:[0-9a-f]{64}$/);
    const reissued = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=tide-ca-renewed',
      keys: await ca.key.cryptoKeys(),
      signingAlgorithm: ca.key.signingAlgorithm(),
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    assert.equal(caPin(reissued.toString('pem')), pin);
  });

  it('parses the --ca-hash form', () => {
    const hex = 'AB'.repeat(32);
    assert.deepEqual(parseCaPin(` sha256:${hex} `), { ok: true, value: `sha256:${hex.toLowerCase()}` });
    for (const bad of ['sha1:' + 'a'.repeat(40), 'sha256:' + 'a'.repeat(63), 'a'.repeat(64), 'sha256:' + 'g'.repeat(64)]) {
      assert.equal(parseCaPin(bad).ok, false, bad);
    }
    const refused = parseCaPin('nope', '--discovery-hash');
    assert.match(refused.ok ? '' : refused.reason, /^--discovery-hash: expected "sha256:" followed by 64 hex digits/);
  });

  it('accepts the pinned CA and refuses another one or no pin', async () => {
    const ca = await createCertificateAuthority();
    const impostor = await createCertificateAuthority();
    const pin = caPin(ca.certificatePem);
    assert.deepEqual(verifyCaPin(ca.certificatePem, [pin]), { ok: true, value: pin });
    const refused = verifyCaPin(impostor.certificatePem, [pin]);
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.reason, new RegExp(`the cluster CA's hash is sha256:[0-9a-f]{64}, not the pinned ${pin}`));
    assert.equal(verifyCaPin(ca.certificatePem, []).ok, false);
  });

  it("trusts a presented chain only when its CA matches the pin and issued the server's certificate", async () => {
    const ca = await createCertificateAuthority();
    const impostor = await createCertificateAuthority();
    const pin = caPin(ca.certificatePem);
    const server = await issueServerCertificate(ca, { commonName: 'api', ipAddresses: ['127.0.0.1'] });
    const forged = await issueServerCertificate(impostor, { commonName: 'api', ipAddresses: ['127.0.0.1'] });
    const client = await issueClientCertificate(ca, nodeIdentity('node-1'));
    assert.deepEqual(trustPresentedChain([server.certificatePem, ca.certificatePem], [pin]), { ok: true, value: { caPem: ca.certificatePem, pin } });
    const table: Array<[string, string[], RegExp]> = [
      ['a forged server with its own CA', [forged.certificatePem, impostor.certificatePem], /the cluster CA's hash is .* not the pinned/],
      ['a forged server presenting the real CA', [forged.certificatePem, ca.certificatePem], /the server's certificate: not issued by this CA/],
      ['a client certificate used as server', [client.certificatePem, ca.certificatePem], /not allowed for serverAuth/],
      ['no chain', [server.certificatePem], /presented no CA certificate/],
    ];
    for (const [name, chain, reason] of table) {
      const result = trustPresentedChain(chain, [pin]);
      assert.equal(result.ok, false, name);
      assert.match(result.ok ? '' : result.reason, reason, name);
    }
  });

  it('turns DER back into the same PEM', async () => {
    const ca = await createCertificateAuthority();
    const der = new x509.X509Certificate(ca.certificatePem).rawData;
    assert.equal(certificatePemFromDer(new Uint8Array(der)), ca.certificatePem);
  });
});
