import { createPublicKey } from 'node:crypto';
import { refuse, type Checked } from './errors';
import { distinguishedName, type CertificateIdentity } from './identity';
import { identityOf, subjectAltNames } from './certificate.info';
import { alternativeNames, issueCertificate, type CertificateAuthority } from './issue';
import { PrivateKey } from './private.key';
import { x509 } from './x509.provider';

/** What the agent keeps (the key, never sent) and what it sends (the CSR). */
export interface CertificateRequest {
  csrPem: string;
  key: PrivateKey;
}

/** Names a serving certificate is for (the agent's own HTTPS endpoint), as in Kubernetes' kubelet-serving CSRs. */
export interface ServingNames {
  dnsNames?: string[];
  ipAddresses?: string[];
}

/**
 * Agent side: a fresh key and a PKCS#10 request bound to `identity`: for client authentication, or
 * with `serving` for a server certificate of those names. The key stays with the caller.
 */
export async function createCertificateRequest(identity: CertificateIdentity, serving?: ServingNames): Promise<CertificateRequest> {
  const key = await PrivateKey.generate();
  const usage = serving ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const extensions: x509.Extension[] = [new x509.ExtendedKeyUsageExtension([usage], false)];
  if (serving) extensions.push(new x509.SubjectAlternativeNameExtension(alternativeNames(serving.dnsNames ?? [], serving.ipAddresses ?? []), false));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: distinguishedName(identity),
    keys: await key.cryptoKeys(),
    signingAlgorithm: key.signingAlgorithm(),
    extensions,
  });
  return { csrPem: csr.toString('pem') + '\n', key };
}

export interface SigningPolicy {
  /** The only identity the caller may get: what its join token (or its current certificate) allows. */
  allowedIdentity: CertificateIdentity;
  /**
   * Absent: a client certificate (clientAuth only, no names). Set: a serving certificate, whose
   * requested names must all be among these (what the cluster knows of the node: its address).
   */
  serving?: ServingNames;
  validityMs?: number;
  now?: Date;
}

/** Extensions a CSR may carry; anything else (basicConstraints, ...) is refused, not dropped. */
const EXTENDED_KEY_USAGE = '2.5.29.37';
const KEY_USAGE = '2.5.29.15';
const SUBJECT_ALT_NAME = '2.5.29.17';
const PKCS9_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/**
 * Control-plane side: signs a node's CSR after the checks Kubernetes' CSR approver and signer make.
 * The request must be self-signed by its key (proof of possession), with an acceptable key, name
 * exactly the allowed identity, and ask for nothing beyond the one usage the policy grants (client
 * authentication, or serving the allowed names). A refusal is a value with a reason the caller can
 * show; nothing is signed then.
 */
export async function signCertificateRequest(ca: CertificateAuthority, csrPem: string, policy: SigningPolicy): Promise<Checked<string>> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    return refuse('csr: not a PEM certificate request (PKCS#10)');
  }
  if (!(await csr.verify())) return refuse('csr: its signature does not match its public key');
  const problem = publicKeyProblem(Buffer.from(csr.publicKey.rawData))
    ?? subjectProblem(csr.subjectName, policy.allowedIdentity)
    ?? requestedExtensionProblem(csr, policy.serving !== undefined);
  if (problem) return refuse(`csr: ${problem}`);
  const requested = csr.extensions.find((extension) => extension.type === SUBJECT_ALT_NAME);
  const names = subjectAltNames(requested ? new x509.SubjectAlternativeNameExtension(requested.rawData) : null);
  if (policy.serving) {
    const namesProblem = servingNamesProblem(names, policy.serving);
    if (namesProblem) return refuse(`csr: ${namesProblem}`);
  }
  const certificatePem = await issueCertificate(ca, {
    identity: policy.allowedIdentity,
    publicKeyDer: new Uint8Array(csr.publicKey.rawData),
    usages: policy.serving ? ['server'] : ['client'],
    ...(policy.serving ? names : {}),
    validityMs: policy.validityMs,
    now: policy.now,
  });
  return { ok: true, value: certificatePem };
}

function servingNamesProblem(asked: { dnsNames: string[]; ipAddresses: string[] }, allowed: ServingNames): string | undefined {
  if (asked.dnsNames.length + asked.ipAddresses.length === 0) return 'a serving certificate request must name its DNS names or IP addresses';
  const foreign = [
    ...asked.dnsNames.filter((name) => !(allowed.dnsNames ?? []).map((n) => n.toLowerCase()).includes(name.toLowerCase())),
    ...asked.ipAddresses.filter((address) => !(allowed.ipAddresses ?? []).includes(address)),
  ];
  if (foreign.length > 0) return `asks to serve ${foreign.join(', ')}, which this node does not hold`;
  return undefined;
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

function requestedExtensionProblem(csr: x509.Pkcs10CertificateRequest, serving: boolean): string | undefined {
  const unknownAttributes = csr.attributes.filter((attribute) => attribute.type !== PKCS9_EXTENSION_REQUEST);
  if (unknownAttributes.length > 0) return `attributes other than extensionRequest are not accepted (${unknownAttributes.map((a) => a.type).join(', ')})`;
  const granted: string = serving ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  for (const extension of csr.extensions) {
    if (extension.type === EXTENDED_KEY_USAGE) {
      const other = Array.from(new x509.ExtendedKeyUsageExtension(extension.rawData).usages, String).filter((usage) => usage !== granted);
      if (other.length > 0) return `only ${usageName(granted)} can be asked for here, not ${other.map(usageName).join(', ')}`;
    } else if (extension.type === KEY_USAGE) {
      const flags = new x509.KeyUsagesExtension(extension.rawData).usages;
      const allowed = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
      if ((flags & ~allowed) !== 0) return 'key usage beyond digitalSignature and keyEncipherment is not accepted';
    } else if (!(serving && extension.type === SUBJECT_ALT_NAME)) {
      return `the extension ${extensionName(extension.type)} is not accepted in a ${serving ? 'serving' : 'client'} certificate request`;
    }
  }
  return undefined;
}

function usageName(oid: string): string {
  const names: Record<string, string> = { [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth', [x509.ExtendedKeyUsage.clientAuth]: 'client authentication' };
  return names[oid] ?? oid;
}

function extensionName(oid: string): string {
  const names: Record<string, string> = { '2.5.29.17': 'subjectAltName', '2.5.29.19': 'basicConstraints' };
  return names[oid] ?? oid;
}
