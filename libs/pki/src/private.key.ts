import { createPrivateKey, createPublicKey, generateKeyPair, KeyObject, type webcrypto } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import { PkiError } from './errors';
import { subtle } from './x509.provider';

/** The key types Tide signs with: its own keys are ECDSA P-256; a CA given with --ca-key may be P-384 or RSA. */
export type KeyAlgorithm = 'ECDSA-P256' | 'ECDSA-P384' | 'RSA';

const REDACTED = '[private key redacted]';
const generateEc = promisify(generateKeyPair);

/**
 * A private key that cannot leak by accident: printing, string interpolation, JSON and util.inspect
 * all show a placeholder; only `toPem()` (for writing the 0600 file or handing it to node:tls) gives the key.
 */
export class PrivateKey {
  readonly #key: KeyObject;
  readonly algorithm: KeyAlgorithm;

  private constructor(key: KeyObject, algorithm: KeyAlgorithm) {
    this.#key = key;
    this.algorithm = algorithm;
  }

  /** A fresh ECDSA P-256 key, made where it will be used (it never travels). */
  static async generate(): Promise<PrivateKey> {
    const { privateKey } = await generateEc('ec', { namedCurve: 'P-256' });
    return new PrivateKey(privateKey, 'ECDSA-P256');
  }

  /** Parses a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"); `source` names it in errors. */
  static fromPem(pem: string, source: string): PrivateKey {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch {
      // The parser's message may quote the input: never pass it on.
      throw new PkiError(`${source}: not a PEM private key (unencrypted PKCS#8, EC or RSA)`);
    }
    return new PrivateKey(key, algorithmOf(key, source));
  }

  /** The key as unencrypted PKCS#8 PEM: for a 0600 file or node:tls, nothing else. */
  toPem(): string {
    return this.#key.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The matching public key as DER SubjectPublicKeyInfo. */
  publicKeyDer(): Buffer {
    return createPublicKey(this.#key).export({ type: 'spki', format: 'der' });
  }

  /** WebCrypto handles of the pair, for @peculiar/x509 (the private half is not extractable). */
  async cryptoKeys(): Promise<webcrypto.CryptoKeyPair> {
    const params = importParams(this.algorithm);
    const der = this.#key.export({ type: 'pkcs8', format: 'der' });
    const privateKey = await subtle.importKey('pkcs8', der, params, false, ['sign']);
    const publicKey = await subtle.importKey('spki', this.publicKeyDer(), params, true, ['verify']);
    return { privateKey, publicKey } ;
  }

  /** The signature algorithm certificates and CSRs made with this key use. */
  signingAlgorithm(): webcrypto.EcdsaParams | webcrypto.Algorithm {
    switch (this.algorithm) {
      case 'ECDSA-P256': return { name: 'ECDSA', hash: 'SHA-256' };
      case 'ECDSA-P384': return { name: 'ECDSA', hash: 'SHA-384' };
      case 'RSA': return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    }
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `PrivateKey { ${this.algorithm} ${REDACTED} }`;
  }
}

function algorithmOf(key: KeyObject, source: string): KeyAlgorithm {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'ECDSA-P256';
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') return 'ECDSA-P384';
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return 'RSA';
  const what = curve ? `${key.asymmetricKeyType} ${curve}` : `${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.modulusLength ?? ''} bits`;
  throw new PkiError(`${source}: unsupported key type ${what.trim()} (use ECDSA P-256, P-384 or RSA of at least 2048 bits)`);
}

function importParams(algorithm: KeyAlgorithm): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  switch (algorithm) {
    case 'ECDSA-P256': return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ECDSA-P384': return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'RSA': return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  }
}
