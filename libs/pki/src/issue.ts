import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { PkiError } from './errors';
import { distinguishedName, type CertificateIdentity } from './identity';
import { parseCertificate } from './certificate.info';
import { PrivateKey } from './private.key';
import { x509 } from './x509.provider';

/** A CA that can sign: its certificate and its key (loaded or created by ca.ts). */
export interface CertificateAuthority {
  certificatePem: string;
  key: PrivateKey;
}

/** A certificate with the key made for it (server and control-plane certificates, made where they are used). */
export interface IssuedCertificate {
  certificatePem: string;
  key: PrivateKey;
}

export type CertificateUsage = 'server' | 'client';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** Leaf certificates live a year, as kubeadm's; they are renewed after two thirds of it (validity.ts). */
export const DEFAULT_CERTIFICATE_VALIDITY_MS = 365 * DAY_MS;
/** Certificates start 5 minutes in the past (a tenth of their life when that is shorter), as Kubernetes' signer backdates, so a peer whose clock is a little behind accepts them. */
export const BACKDATE_MS = 5 * 60 * 1000;

export interface IssueRequest {
  identity: CertificateIdentity;
  /** DER SubjectPublicKeyInfo of the subject's key. */
  publicKeyDer: Uint8Array;
  usages: CertificateUsage[];
  dnsNames?: string[];
  ipAddresses?: string[];
  validityMs?: number;
  now?: Date;
}

/**
 * Signs one leaf certificate. Never longer-lived than the CA (the end is clamped to the CA's, as
 * Kubernetes' signer does), never a CA itself, key usage digitalSignature only (TLS 1.2 ECDHE and
 * TLS 1.3 sign; RSA subjects also get keyEncipherment for old clients).
 */
export async function issueCertificate(ca: CertificateAuthority, request: IssueRequest): Promise<string> {
  if (request.usages.length === 0) throw new PkiError('a certificate needs at least one usage (server or client)');
  const caCertificate = parseCertificate(ca.certificatePem, 'CA certificate');
  const now = request.now ?? new Date();
  const validityMs = request.validityMs ?? DEFAULT_CERTIFICATE_VALIDITY_MS;
  // A short-lived certificate (minutes, for rotation tests) is backdated a tenth of its life at most:
  // five minutes would make it due for renewal the moment it is made.
  const backdated = new Date(now.getTime() - Math.min(BACKDATE_MS, Math.floor(validityMs / 10)));
  const notBefore = backdated < caCertificate.notBefore ? caCertificate.notBefore : backdated;
  const wanted = new Date(now.getTime() + validityMs);
  const notAfter = wanted > caCertificate.notAfter ? caCertificate.notAfter : wanted;
  if (notAfter <= now) throw new PkiError('CA certificate: expired, it can sign nothing (renew the CA)');
  const publicKey = new x509.PublicKey(request.publicKeyDer);
  const rsa = publicKey.algorithm.name === 'RSASSA-PKCS1-v1_5' || publicKey.algorithm.name === 'RSA-PSS';
  const keyUsage = x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.ExtendedKeyUsageExtension(request.usages.map(usageOid), false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    new x509.AuthorityKeyIdentifierExtension(await authorityKeyId(caCertificate)),
  ];
  const names = alternativeNames(request.dnsNames ?? [], request.ipAddresses ?? []);
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: newSerialNumber(),
    subject: distinguishedName(request.identity),
    issuer: caCertificate.subjectName,
    notBefore,
    notAfter,
    publicKey,
    signingKey: (await ca.key.cryptoKeys()).privateKey,
    signingAlgorithm: ca.key.signingAlgorithm(),
    extensions,
  });
  return certificate.toString('pem') + '\n';
}

/** A server certificate (and its fresh key) for the names and addresses clients dial. */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: { commonName: string; dnsNames?: string[]; ipAddresses?: string[]; alsoClient?: boolean; validityMs?: number; now?: Date },
): Promise<IssuedCertificate> {
  if ((options.dnsNames ?? []).length + (options.ipAddresses ?? []).length === 0) {
    throw new PkiError(`server certificate "${options.commonName}": give at least one DNS name or IP address`);
  }
  const key = await PrivateKey.generate();
  const usages: CertificateUsage[] = options.alsoClient ? ['server', 'client'] : ['server'];
  const certificatePem = await issueCertificate(ca, {
    identity: { commonName: options.commonName, organizations: [] },
    publicKeyDer: key.publicKeyDer(),
    usages,
    dnsNames: options.dnsNames,
    ipAddresses: options.ipAddresses,
    validityMs: options.validityMs,
    now: options.now,
  });
  return { certificatePem, key };
}

/** A client certificate (and its fresh key) for an identity this process holds itself, such as the control plane's. */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  identity: CertificateIdentity,
  options: { validityMs?: number; now?: Date } = {},
): Promise<IssuedCertificate> {
  const key = await PrivateKey.generate();
  const certificatePem = await issueCertificate(ca, { identity, publicKeyDer: key.publicKeyDer(), usages: ['client'], ...options });
  return { certificatePem, key };
}

function usageOid(usage: CertificateUsage): string {
  return usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
}

// 16 random bytes, the top bit clear (serials are positive) and the next one set (no leading zero
// byte to strip), as RFC 5280 wants: unique and unguessable.
function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString('hex');
}

async function authorityKeyId(ca: x509.X509Certificate): Promise<string> {
  const own = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  if (own) return own.keyId;
  return (await x509.SubjectKeyIdentifierExtension.create(ca.publicKey)).keyId;
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

export function alternativeNames(dnsNames: string[], ipAddresses: string[]): x509.JsonGeneralName[] {
  for (const name of dnsNames) {
    if (!DNS_NAME.test(name)) throw new PkiError(`DNS name "${name}": not a host name (letters, digits, '-' and '.')`);
  }
  for (const address of ipAddresses) {
    if (isIP(address) === 0) throw new PkiError(`IP address "${address}": not an IPv4 or IPv6 address`);
  }
  return [
    ...dnsNames.map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...ipAddresses.map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
}
