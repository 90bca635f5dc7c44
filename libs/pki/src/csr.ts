import { createPublicKey } from 'node:crypto';
import { refuse, type Checked } from './errors';
import { distinguishedName, type CertificateIdentity } from './identity';
import { identityOf } from './certificate.info';
import { issueCertificate, type CertificateAuthority } from './issue';
import { PrivateKey } from './private.key';
import { x509 } from './x509.provider';

/** What the agent keeps (the key, never sent) and what it sends (the CSR). */
export interface CertificateRequest {
  csrPem: string;
  key: PrivateKey;
}

/**
 * Agent side: a fresh key and a PKCS#10 request for a client certificate bound to `identity`. The
 * request asks for client authentication only, which is all the signer below grants.
 */
export async function createCertificateRequest(identity: CertificateIdentity): Promise<CertificateRequest> {
  const key = await PrivateKey.generate();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: distinguishedName(identity),
    keys: await key.cryptoKeys(),
    signingAlgorithm: key.signingAlgorithm(),
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)],
  });
  return { csrPem: csr.toString('pem') + '\n', key };
}

export interface SigningPolicy {
  /** The only identity the caller may get: what its join token (or its current certificate) allows. */
  allowedIdentity: CertificateIdentity;
  validityMs?: number;
  now?: Date;
}

/** Extensions a client CSR may carry; anything else (SANs, basicConstraints, ...) is refused, not dropped. */
const EXTENDED_KEY_USAGE = '2.5.29.37';
const KEY_USAGE = '2.5.29.15';
const PKCS9_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/**
 * Control-plane side: signs a node's CSR after the checks Kubernetes' CSR approver and signer make.
 * The request must be self-signed by its key (proof of possession), with an acceptable key, name
 * exactly the allowed identity, and ask for nothing beyond client authentication. A refusal is a
 * value with a reason the caller can show; nothing is signed then.
 */
export async function signCertificateRequest(ca: CertificateAuthority, csrPem: string, policy: SigningPolicy): Promise<Checked<string>> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    return refuse('csr: not a PEM certificate request (PKCS#10)');
  }
  if (!(await csr.verify())) return refuse('csr: its signature does not match its public key');
  const keyProblem = publicKeyProblem(Buffer.from(csr.publicKey.rawData));
  if (keyProblem) return refuse(`csr: ${keyProblem}`);
  const nameProblem = subjectProblem(csr.subjectName, policy.allowedIdentity);
  if (nameProblem) return refuse(`csr: ${nameProblem}`);
  const extensionProblem = requestedExtensionProblem(csr);
  if (extensionProblem) return refuse(`csr: ${extensionProblem}`);
  const certificatePem = await issueCertificate(ca, {
    identity: policy.allowedIdentity,
    publicKeyDer: new Uint8Array(csr.publicKey.rawData),
    usages: ['client'],
    validityMs: policy.validityMs,
    now: policy.now,
  });
  return { ok: true, value: certificatePem };
}

function publicKeyProblem(spki: Buffer): string | undefined {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1')) return undefined;
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048) return undefined;
  return `key type ${key.asymmetricKeyType} ${details.namedCurve ?? details.modulusLength ?? ''} is not accepted (ECDSA P-256, P-384 or RSA ≥ 2048 bits)`;
}

function subjectProblem(subject: x509.Name, allowed: CertificateIdentity): string | undefined {
  const asked = identityOf(subject);
  if (asked.commonName !== allowed.commonName) {
    return `asks for the name "${asked.commonName}" but this credential allows only "${allowed.commonName}"`;
  }
  const askedGroups = [...asked.organizations].sort().join(',');
  const allowedGroups = [...allowed.organizations].sort().join(',');
  if (askedGroups !== allowedGroups) {
    return `asks for the groups [${askedGroups}] but this credential allows only [${allowedGroups}]`;
  }
  const others = subject.toJSON().flatMap((part) => Object.keys(part)).filter((field) => field !== 'CN' && field !== 'O');
  if (others.length > 0) return `subject fields other than CN and O are not accepted (${others.join(', ')})`;
  return undefined;
}

function requestedExtensionProblem(csr: x509.Pkcs10CertificateRequest): string | undefined {
  const unknownAttributes = csr.attributes.filter((attribute) => attribute.type !== PKCS9_EXTENSION_REQUEST);
  if (unknownAttributes.length > 0) return `attributes other than extensionRequest are not accepted (${unknownAttributes.map((a) => a.type).join(', ')})`;
  for (const extension of csr.extensions) {
    if (extension.type === EXTENDED_KEY_USAGE) {
      const usages = new x509.ExtendedKeyUsageExtension(extension.rawData).usages.map(String);
      const other = usages.filter((usage) => usage !== x509.ExtendedKeyUsage.clientAuth);
      if (other.length > 0) return `only client authentication can be asked for, not ${other.map(usageName).join(', ')}`;
    } else if (extension.type === KEY_USAGE) {
      const flags = new x509.KeyUsagesExtension(extension.rawData).usages;
      const allowed = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
      if ((flags & ~allowed) !== 0) return 'key usage beyond digitalSignature and keyEncipherment is not accepted';
    } else {
      return `the extension ${extensionName(extension.type)} is not accepted in a client certificate request`;
    }
  }
  return undefined;
}

function usageName(oid: string): string {
  return oid === x509.ExtendedKeyUsage.serverAuth ? 'serverAuth' : oid;
}

function extensionName(oid: string): string {
  const names: Record<string, string> = { '2.5.29.17': 'subjectAltName', '2.5.29.19': 'basicConstraints' };
  return names[oid] ?? oid;
}
