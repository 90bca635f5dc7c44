/**
 * The control plane's key file for Secrets at rest (`--encryption-key-file`, default
 * `STATE/encryption/keys.json`, 0600 in a 0700 directory): made on first start with one random
 * AES-256 key and a digest key (status.configHash's HMAC key, never rotated: a new one would roll
 * every service whose env reads a Secret). The first key of `keys` seals new writes; every key opens
 * what it sealed. `control-plane rotate-encryption-key` puts a new key first; the running control
 * planes take it at the next `tsctl secrets reencrypt` (or restart), which also rewrites every Secret
 * an older key sealed. Several control planes must hold the same file (as Kubernetes API servers
 * share one EncryptionConfiguration): copy it with the PKI directory.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EncryptionKey, KEY_BYTES, SecretCipher } from '@tide/store';

interface KeyFile {
  keys: { name: string; secret: string; createdAt: string }[];
  digestKey: string;
}

export interface KeyRing {
  cipher: SecretCipher;
  digestKey: Buffer;
}

export class KeyFileError extends Error {}

export function defaultKeyFile(stateDir: string): string {
  return path.join(stateDir, 'encryption', 'keys.json');
}

function newKey(now: Date): KeyFile['keys'][number] {
  // Sortable, and unique enough for keys made by hand (a second within one second gets a suffix).
  const name = `key-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  return { name, secret: randomBytes(KEY_BYTES).toString('base64'), createdAt: now.toISOString() };
}

function write(file: string, content: KeyFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

function read(file: string): KeyFile {
  let content: KeyFile;
  try {
    content = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyFile;
  } catch (error) {
    throw new KeyFileError(`${file}: cannot read the encryption key file (${(error as Error).message}); restore it from a backup: without it no Secret can be read`);
  }
  if (!Array.isArray(content.keys) || content.keys.length === 0 || typeof content.digestKey !== 'string') {
    throw new KeyFileError(`${file}: expected {"keys": [{"name", "secret"}...], "digestKey"}: restore it from a backup`);
  }
  return content;
}

function ringOf(file: string, content: KeyFile): KeyRing {
  const keys: EncryptionKey[] = content.keys.map((key) => ({ name: key.name, secret: Buffer.from(key.secret, 'base64') }));
  try {
    return { cipher: new SecretCipher(keys), digestKey: Buffer.from(content.digestKey, 'base64') };
  } catch (error) {
    throw new KeyFileError(`${file}: ${(error as Error).message}`);
  }
}

/** The ring in the file, made (one key) when the file does not exist. */
export function loadOrCreateKeyRing(file: string, now = new Date()): { ring: KeyRing; created: boolean } {
  if (!fs.existsSync(file)) {
    write(file, { keys: [newKey(now)], digestKey: randomBytes(KEY_BYTES).toString('base64') });
    return { ring: ringOf(file, read(file)), created: true };
  }
  const stat = fs.statSync(file);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return { ring: ringOf(file, read(file)), created: false };
}

/** Puts a new key first (the writer); the others stay to open what they sealed. Answers its name. */
export function rotateKeyFile(file: string, now = new Date()): string {
  const content = read(file);
  let key = newKey(now);
  for (let n = 2; content.keys.some((k) => k.name === key.name); n++) key = { ...newKey(now), name: `${newKey(now).name}-${n}` };
  write(file, { ...content, keys: [key, ...content.keys] });
  return key.name;
}
