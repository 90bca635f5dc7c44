import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { createCertificateAuthority } from './ca';
import { describeCertificate } from './certificate.info';
import { createCertificateRequest, signCertificateRequest } from './csr';
import { distinguishedName, nodeIdentity, type CertificateIdentity } from './identity';
import type { CertificateAuthority } from './issue';
import { verifyIssuedBy } from './validity';
import { x509 } from './x509.provider';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A CSR built by hand, to ask for what an honest agent never asks for. */
async function handMadeCsr(identity: CertificateIdentity | string, extensions: x509.Extension[] = [], keyParams: object = EC): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(keyParams as webcrypto.EcKeyGenParams, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: typeof identity === 'string' ? identity : distinguishedName(identity),
    keys,
    signingAlgorithm: keyParams,
    extensions,
  });
  return csr.toString('pem');
}

describe('CSR signing', () => {
  let ca: CertificateAuthority;
  before(async () => {
    ca = await createCertificateAuthority();
  });

  it("signs an agent's CSR into a client certificate bound to its node name, for the agent's own key", async () => {
    const request = await createCertificateRequest(nodeIdentity('node-1'));
    assert.doesNotMatch(request.csrPem, /PRIVATE KEY/);
    const signed = await signCertificateRequest(ca, request.csrPem, { allowedIdentity: nodeIdentity('node-1') });
    assert.ok(signed.ok, signed.ok ? '' : signed.reason);
    const info = describeCertificate(signed.value);
    assert.deepEqual(info.identity, { commonName: 'system:node:node-1', organizations: ['system:nodes'] });
    assert.deepEqual(info.extendedKeyUsages, ['clientAuth']);
    assert.equal(info.isCa, false);
    assert.deepEqual([info.dnsNames, info.ipAddresses], [[], []]);
    assert.ok(verifyIssuedBy(signed.value, ca.certificatePem, { usage: 'client' }).ok);
    // The certificate certifies the key the agent kept.
    const spki = new x509.X509Certificate(signed.value).publicKey.rawData;
    assert.ok(Buffer.from(spki).equals(request.key.publicKeyDer()));
  });

  it('gives the validity asked for, never past the CA', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const shortCa = await createCertificateAuthority({ now, validityMs: 10 * 86_400_000 });
    const request = await createCertificateRequest(nodeIdentity('node-1'));
    const signed = await signCertificateRequest(shortCa, request.csrPem, { allowedIdentity: nodeIdentity('node-1'), now, validityMs: 365 * 86_400_000 });
    assert.ok(signed.ok);
    assert.equal(describeCertificate(signed.value).notAfter.toISOString(), '2030-01-11T00:00:00.000Z');
  });

  const node1 = nodeIdentity('node-1');
  const refusals: Array<{ name: string; csr: () => Promise<string>; reason: RegExp }> = [
    { name: 'another node name', csr: () => handMadeCsr(nodeIdentity('node-2')), reason: /asks for the name "system:node:node-2" but this credential allows only "system:node:node-1"/ },
    { name: 'the control plane name', csr: () => handMadeCsr({ commonName: 'system:tide-control-plane', organizations: ['system:masters'] }), reason: /allows only "system:node:node-1"/ },
    { name: 'an extra group (system:masters)', csr: () => handMadeCsr({ ...node1, organizations: ['system:nodes', 'system:masters'] }), reason: /groups \[system:masters,system:nodes\] but this credential allows only \[system:nodes\]/ },
    { name: 'no group', csr: () => handMadeCsr({ ...node1, organizations: [] }), reason: /groups \[\]/ },
    { name: 'an organizational unit', csr: () => handMadeCsr('CN=system:node:node-1, O=system:nodes, OU=x'), reason: /subject fields other than CN and O are not accepted \(OU\)/ },
    { name: 'server authentication', csr: () => handMadeCsr(node1, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])]), reason: /only client authentication can be asked for here, not serverAuth/ },
    { name: 'code signing', csr: () => handMadeCsr(node1, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning])]), reason: /not 1\.3\.6\.1\.5\.5\.7\.3\.3/ },
    { name: 'a CA certificate', csr: () => handMadeCsr(node1, [new x509.BasicConstraintsExtension(true)]), reason: /the extension basicConstraints is not accepted/ },
    { name: 'subject alternative names', csr: () => handMadeCsr(node1, [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'api.example' }])]), reason: /subjectAltName is not accepted in a client certificate request/ },
    { name: 'certificate signing key usage', csr: () => handMadeCsr(node1, [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign)]), reason: /key usage beyond digitalSignature/ },
    { name: 'a 1024-bit RSA key', csr: () => handMadeCsr(node1, [], { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]) }), reason: /key type rsa 1024 is not accepted/ },
    { name: 'a P-521 key', csr: () => handMadeCsr(node1, [], { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' }), reason: /key type ec secp521r1 is not accepted/ },
    { name: 'garbage', csr: async () => 'hello', reason: /^csr: not a PEM certificate request/ },
    { name: 'a tampered request (signature no longer matches)', csr: async () => tamper(await handMadeCsr(node1)), reason: /its signature does not match its public key/ },
  ];
  for (const { name, csr, reason } of refusals) {
    it(`refuses a CSR asking for ${name}`, async () => {
      const result = await signCertificateRequest(ca, await csr(), { allowedIdentity: node1 });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    });
  }

  it("signs an agent's serving CSR for the addresses the cluster knows it holds", async () => {
    const request = await createCertificateRequest(node1, { dnsNames: ['node-1.tide'], ipAddresses: ['198.18.0.1'] });
    const serving = { dnsNames: ['NODE-1.tide'], ipAddresses: ['198.18.0.1', '100.64.1.1'] };
    const signed = await signCertificateRequest(ca, request.csrPem, { allowedIdentity: node1, serving });
    assert.ok(signed.ok, signed.ok ? '' : signed.reason);
    const info = describeCertificate(signed.value);
    assert.deepEqual([info.extendedKeyUsages, info.dnsNames, info.ipAddresses], [['serverAuth'], ['node-1.tide'], ['198.18.0.1']]);
    assert.ok(verifyIssuedBy(signed.value, ca.certificatePem, { usage: 'server' }).ok);
  });

  const servingRefusals: Array<[string, () => Promise<string>, RegExp]> = [
    ["another node's address", async () => (await createCertificateRequest(node1, { ipAddresses: ['198.18.0.2'] })).csrPem, /asks to serve 198\.18\.0\.2, which this node does not hold/],
    ['a name it does not hold', async () => (await createCertificateRequest(node1, { dnsNames: ['api.tide'] })).csrPem, /asks to serve api\.tide/],
    ['no names', () => handMadeCsr(node1, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])]), /must name its DNS names or IP addresses/],
    ['client authentication too', () => handMadeCsr(node1, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])]),
      /only serverAuth can be asked for here, not client authentication/],
    ['a CA certificate', () => handMadeCsr(node1, [new x509.BasicConstraintsExtension(true)]), /basicConstraints is not accepted in a serving certificate request/],
  ];
  for (const [name, csr, reason] of servingRefusals) {
    it(`refuses a serving CSR with ${name}`, async () => {
      const result = await signCertificateRequest(ca, await csr(), { allowedIdentity: node1, serving: { ipAddresses: ['198.18.0.1'] } });
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    });
  }

  it('accepts a hand-made CSR that asks for client authentication and digitalSignature only', async () => {
    const csr = await handMadeCsr(node1, [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature),
    ]);
    assert.ok((await signCertificateRequest(ca, csr, { allowedIdentity: node1 })).ok);
  });
});

// Flips one bit inside the subject's common name: the structure still parses, the signature no longer holds.
function tamper(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('node-1'));
  der[at + 5] ^= 0x01; // node-1 → node-0
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}
