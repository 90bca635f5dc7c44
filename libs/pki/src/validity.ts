import { refuse, type Checked } from './errors';
import { describeCertificate, nodeCertificate, parseCertificate, type CertificateInfo } from './certificate.info';
import type { CertificateUsage } from './issue';

/** Renew when less than this share of the certificate's lifetime is left (kubelet rotates at 70-90%; kubeadm's guidance is similar). */
export const RENEW_WHEN_LEFT_FRACTION = 1 / 3;

/** Whether a certificate is within its validity window at `now`. */
export function checkValidity(certificatePem: string, now: Date = new Date(), source = 'certificate'): Checked<CertificateInfo> {
  const info = describeCertificate(certificatePem, source);
  if (now < info.notBefore) return refuse(`${source}: not valid before ${info.notBefore.toISOString()}`);
  if (now >= info.notAfter) return refuse(`${source}: expired on ${info.notAfter.toISOString()}`);
  return { ok: true, value: info };
}

export interface RenewalDecision {
  renew: boolean;
  /** When the certificate becomes due: notAfter − lifetime / 3. */
  renewAt: Date;
  notAfter: Date;
  reason: string;
}

/**
 * Whether to renew now: once less than a third of the lifetime is left (or it has expired). A
 * rotation loop can sleep until `renewAt` and then ask again.
 */
export function renewalDecision(certificatePem: string, now: Date = new Date()): RenewalDecision {
  const { notBefore, notAfter } = describeCertificate(certificatePem);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const renewAt = new Date(notAfter.getTime() - Math.floor(lifetime * RENEW_WHEN_LEFT_FRACTION));
  if (now >= notAfter) return { renew: true, renewAt, notAfter, reason: `expired on ${notAfter.toISOString()}` };
  if (now >= renewAt) {
    const left = Math.round((notAfter.getTime() - now.getTime()) / 3_600_000);
    return { renew: true, renewAt, notAfter, reason: `less than a third of its lifetime left (${left} h until ${notAfter.toISOString()})` };
  }
  return { renew: false, renewAt, notAfter, reason: `valid until ${notAfter.toISOString()}, renewal due at ${renewAt.toISOString()}` };
}

/**
 * Whether `certificatePem` was signed by the CA, is valid at `now`, and may be used for `usage`:
 * what an agent checks on the certificate it was handed, and what tests check on any leaf.
 */
export function verifyIssuedBy(
  certificatePem: string,
  caPem: string,
  options: { now?: Date; usage?: CertificateUsage } = {},
): Checked<CertificateInfo> {
  const leaf = nodeCertificate(parseCertificate(certificatePem, 'certificate'));
  const ca = nodeCertificate(parseCertificate(caPem, 'CA certificate'));
  // checkIssued compares names and key identifiers; verify checks the signature itself.
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return refuse('certificate: not issued by this CA');
  const valid = checkValidity(certificatePem, options.now);
  if (!valid.ok) return valid;
  const wanted = options.usage === 'server' ? 'serverAuth' : options.usage === 'client' ? 'clientAuth' : undefined;
  if (wanted && !valid.value.extendedKeyUsages.includes(wanted)) {
    return refuse(`certificate: not allowed for ${wanted} (it allows ${valid.value.extendedKeyUsages.join(', ') || 'nothing'})`);
  }
  return valid;
}
