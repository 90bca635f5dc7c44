/**
 * Secrets at rest: every Secret's stored JSON is sealed with AES-256-GCM before it reaches etcd, as
 * Kubernetes' EncryptionConfiguration `aesgcm` provider does. The value is
 * `tide:enc:aesgcm:v1:<key name>:` + 12-byte nonce + ciphertext + 16-byte tag, the etcd key being
 * the additional authenticated data (a sealed value copied under another Secret's key does not
 * open). The prefix names the key that sealed it, so after a rotation the old keys still open what
 * they sealed while the first key of the ring seals every new write; re-encryption rewrites what
 * an older key sealed (config.store.ts). A nonce is random per write: with 96 bits, NIST's bound of
 * 2^32 seals per key is far beyond a cluster's Secret writes between rotations.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const SEALED_PREFIX = 'tide:enc:aesgcm:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export interface EncryptionKey {
  name: string;
  /** 32 random bytes. */
  secret: Buffer;
}

/** A value that cannot be opened: unknown key, tampered or moved bytes. Names the key, never the value. */
export class SecretSealError extends Error {}

/** The ring: the first key seals, every key opens what it sealed. */
export class SecretCipher {
  private readonly byName: Map<string, Buffer>;

  constructor(readonly keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new SecretSealError('no encryption key: the ring needs at least one');
    for (const key of keys) {
      if (!KEY_NAME.test(key.name)) throw new SecretSealError(`encryption key name "${key.name}" must be letters, digits, "-", "_" or "." (at most 63)`);
      if (key.secret.length !== KEY_BYTES) throw new SecretSealError(`encryption key ${key.name} has ${key.secret.length} bytes; AES-256 needs ${KEY_BYTES}`);
    }
    this.byName = new Map(keys.map((key) => [key.name, key.secret]));
  }

  /** The key new writes are sealed with. */
  get writer(): string {
    return this.keys[0].name;
  }

  seal(etcdKey: string, plaintext: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.byName.get(this.writer)!, nonce);
    cipher.setAAD(Buffer.from(etcdKey));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from(`${SEALED_PREFIX}${this.writer}:`), nonce, body, cipher.getAuthTag()]);
  }

  /** The name of the key that sealed the value (undefined: not sealed by this scheme). */
  sealedWith(value: Buffer): string | undefined {
    if (!value.subarray(0, SEALED_PREFIX.length).equals(Buffer.from(SEALED_PREFIX))) return undefined;
    const end = value.indexOf(':', SEALED_PREFIX.length);
    return end < 0 ? undefined : value.subarray(SEALED_PREFIX.length, end).toString();
  }

  open(etcdKey: string, value: Buffer): string {
    const name = this.sealedWith(value);
    if (name === undefined) throw new SecretSealError(`${etcdKey} is not sealed (no ${SEALED_PREFIX} prefix): refusing to read a Secret stored in clear`);
    const secret = this.byName.get(name);
    if (!secret) throw new SecretSealError(`${etcdKey} was sealed with key "${name}", which the control plane's key file does not hold`);
    const start = SEALED_PREFIX.length + name.length + 1;
    if (value.length < start + NONCE_BYTES + TAG_BYTES) throw new SecretSealError(`${etcdKey}: sealed value is truncated`);
    const nonce = value.subarray(start, start + NONCE_BYTES);
    const tag = value.subarray(value.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', secret, nonce);
    decipher.setAAD(Buffer.from(etcdKey));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(value.subarray(start + NONCE_BYTES, value.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretSealError(`${etcdKey}: the sealed value does not open with key "${name}" (altered, or moved from another key)`);
    }
  }
}
