import { createHash, X509Certificate as NodeCertificate } from 'node:crypto';
import { PkiError } from './errors';
import type { CertificateIdentity } from './identity';
import { x509 } from './x509.provider';

/** What callers need to know about a certificate, without touching ASN.1. */
export interface CertificateInfo {
  identity: CertificateIdentity;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  /** `serverAuth`, `clientAuth`, or the OID of any other extended key usage. */
  extendedKeyUsages: string[];
  /** `sha256:` + hex SHA-256 of the whole DER certificate (for logs: it names a certificate, it is not the CA pin). */
  fingerprint: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** Parses the first certificate of a PEM text; `source` (a file name, a field) names it in errors. */
export function parseCertificate(pem: string, source: string): x509.X509Certificate {
  const block = PEM_CERTIFICATE.exec(pem);
  if (!block) throw new PkiError(`${source}: no PEM certificate (expected a "BEGIN CERTIFICATE" block)`);
  try {
    return new x509.X509Certificate(block[0]);
  } catch {
    throw new PkiError(`${source}: the PEM certificate block cannot be parsed`);
  }
}

/** Node's view of the same certificate (signature checks, SPKI export) from a parsed one. */
export function nodeCertificate(certificate: x509.X509Certificate): NodeCertificate {
  return new NodeCertificate(Buffer.from(certificate.rawData));
}

export function describeCertificate(pem: string, source = 'certificate'): CertificateInfo {
  const certificate = parseCertificate(pem, source);
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  return {
    identity: identityOf(certificate.subjectName),
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    isCa: basic?.ca ?? false,
    ...subjectAltNames(certificate.getExtension(x509.SubjectAlternativeNameExtension)),
    extendedKeyUsages: extendedKeyUsages(certificate.getExtension(x509.ExtendedKeyUsageExtension)),
    fingerprint: `sha256:${createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex')}`,
  };
}

export function identityOf(name: x509.Name): CertificateIdentity {
  return { commonName: name.getField('CN')[0] ?? '', organizations: name.getField('O') };
}

export function subjectAltNames(extension: x509.SubjectAlternativeNameExtension | null): { dnsNames: string[]; ipAddresses: string[] } {
  const names = extension?.names.items ?? [];
  return {
    dnsNames: Array.from(names.filter((name) => name.type === 'dns'), (name) => name.value),
    ipAddresses: Array.from(names.filter((name) => name.type === 'ip'), (name) => name.value),
  };
}

const USAGE_NAMES: Record<string, string> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth',
};

export function extendedKeyUsages(extension: x509.ExtendedKeyUsageExtension | null): string[] {
  return Array.from(extension?.usages ?? [], (usage) => USAGE_NAMES[String(usage)] ?? String(usage));
}
