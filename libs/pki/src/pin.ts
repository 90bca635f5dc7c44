import { createHash } from 'node:crypto';
import { refuse, type Checked } from './errors';
import { nodeCertificate, parseCertificate } from './certificate.info';
import { verifyIssuedBy } from './validity';

/**
 * kubeadm's CA pin: `sha256:` + hex SHA-256 of the CA's DER SubjectPublicKeyInfo. Pinning the key,
 * not the certificate, keeps a pin valid across a CA re-issued with the same key. The same value as
 * `openssl x509 -pubkey -noout -in ca.crt | openssl pkey -pubin -outform der | sha256sum`.
 */
export function caPin(caPem: string): string {
  const certificate = nodeCertificate(parseCertificate(caPem, 'CA certificate'));
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const PIN = /^sha256:([0-9a-f]{64})$/i;

/** Checks a pin's form (`--ca-hash`); returns it lower-cased. */
export function parseCaPin(text: string, field = '--ca-hash'): Checked<string> {
  const match = PIN.exec(text.trim());
  if (!match) return refuse(`${field}: expected "sha256:" followed by 64 hex digits (as printed by tsctl token create --join)`);
  return { ok: true, value: `sha256:${match[1].toLowerCase()}` };
}

/**
 * Whether a CA presented by a server (during a join, before the agent trusts anything) matches one of
 * the pins it was given. A mismatch means a man in the middle or the wrong cluster: the caller stops.
 */
export function verifyCaPin(caPem: string, pins: readonly string[]): Checked<string> {
  if (pins.length === 0) return refuse('no CA pin given: refusing to trust an unverified CA');
  const wanted: string[] = [];
  for (const pin of pins) {
    const parsed = parseCaPin(pin);
    if (!parsed.ok) return parsed;
    wanted.push(parsed.value);
  }
  const actual = caPin(caPem);
  if (!wanted.includes(actual)) return refuse(`the cluster CA's hash is ${actual}, not the pinned ${wanted.join(' or ')}`);
  return { ok: true, value: actual };
}

/** PEM text of a DER certificate, e.g. from node:tls `getPeerCertificate(true).raw`. */
export function certificatePemFromDer(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

/**
 * Join-time trust: of the chain a server presented (leaf first, as node:tls gives it), finds the CA
 * that matches a pin and checks that the leaf is a server certificate it issued, valid now. The
 * returned CA is what the agent trusts from then on.
 */
export function trustPresentedChain(chain: readonly string[], pins: readonly string[], now: Date = new Date()): Checked<{ caPem: string; pin: string }> {
  if (chain.length < 2) return refuse('the server presented no CA certificate with its own (it must send its chain)');
  const [leaf, ...rest] = chain;
  let lastRefusal = 'no certificate of the chain matches the CA pin';
  for (const candidate of rest) {
    const pinned = verifyCaPin(candidate, pins);
    if (!pinned.ok) {
      lastRefusal = pinned.reason;
      continue;
    }
    const issued = verifyIssuedBy(leaf, candidate, { now, usage: 'server' });
    if (!issued.ok) return refuse(`the server's certificate: ${issued.reason.replace(/^certificate: /, '')}`);
    return { ok: true, value: { caPem: candidate, pin: pinned.value } };
  }
  return refuse(lastRefusal);
}
