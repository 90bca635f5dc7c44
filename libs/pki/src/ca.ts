import { PkiError } from './errors';
import { distinguishedName } from './identity';
import { parseCertificate } from './certificate.info';
import { BACKDATE_MS, DAY_MS, type CertificateAuthority } from './issue';
import { PrivateKey } from './private.key';
import { x509 } from './x509.provider';

/** The cluster CA lives ten years, as kubeadm's. */
export const DEFAULT_CA_VALIDITY_MS = 10 * 365 * DAY_MS;

/** A new self-signed cluster CA with a fresh ECDSA P-256 key. */
export async function createCertificateAuthority(
  options: { commonName?: string; validityMs?: number; now?: Date } = {},
): Promise<CertificateAuthority> {
  const key = await PrivateKey.generate();
  const keys = await key.cryptoKeys();
  const now = options.now ?? new Date();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: distinguishedName({ commonName: options.commonName ?? 'tide-ca', organizations: [] }),
    keys,
    // Backdated like every leaf, so that a leaf made at once never starts before its CA.
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + (options.validityMs ?? DEFAULT_CA_VALIDITY_MS)),
    signingAlgorithm: key.signingAlgorithm(),
    extensions: [
      // No path length: a user may hang an intermediate under it, as under kubeadm's CA.
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem') + '\n', key };
}

/**
 * A CA from PEM texts (`--ca-cert` / `--ca-key`), checked before anything is signed with it: a CA
 * certificate allowed to sign certificates, still valid, and the key is the certificate's.
 */
export function loadCertificateAuthority(
  certificatePem: string,
  keyPem: string,
  sources: { certificate: string; key: string } = { certificate: 'CA certificate', key: 'CA key' },
  now: Date = new Date(),
): CertificateAuthority {
  const certificate = parseCertificate(certificatePem, sources.certificate);
  const key = PrivateKey.fromPem(keyPem, sources.key);
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) throw new PkiError(`${sources.certificate}: not a CA certificate (basicConstraints CA:TRUE missing)`);
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new PkiError(`${sources.certificate}: its key usage does not include keyCertSign`);
  }
  if (certificate.notAfter <= now) {
    throw new PkiError(`${sources.certificate}: expired on ${certificate.notAfter.toISOString()}`);
  }
  if (!Buffer.from(certificate.publicKey.rawData).equals(key.publicKeyDer())) {
    throw new PkiError(`${sources.key}: this key does not belong to ${sources.certificate}`);
  }
  // Keep the first certificate block only: a bundle file may carry more.
  return { certificatePem: certificate.toString('pem') + '\n', key };
}
