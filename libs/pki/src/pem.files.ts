import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { PkiError } from './errors';
import { loadCertificateAuthority } from './ca';
import { parseCertificate } from './certificate.info';
import type { CertificateAuthority } from './issue';
import { PrivateKey } from './private.key';

/** The file calls this lib makes: the only place it touches the disk (tests may pass another). */
export interface PkiFs {
  readFile(path: string): Promise<string>;
  /** Permission bits of a file. */
  mode(path: string): Promise<number>;
  /** Creates `path` (which must not exist) with exactly `mode`, writes `data` and flushes it to disk. */
  createFile(path: string, data: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  mkdir(path: string, mode: number): Promise<void>;
}

export const nodePkiFs: PkiFs = {
  readFile: (path) => fsp.readFile(path, 'utf8'),
  mode: async (path) => (await fsp.stat(path)).mode & 0o7777,
  async createFile(path, data, mode) {
    const handle = await fsp.open(path, 'wx', mode);
    try {
      await handle.chmod(mode); // the umask must not loosen or tighten what was asked for
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  remove: (path) => fsp.rm(path, { force: true }),
  mkdir: async (path, mode) => {
    await fsp.mkdir(path, { recursive: true, mode });
  },
};

export const KEY_FILE_MODE = 0o600;
export const CERTIFICATE_FILE_MODE = 0o644;

/**
 * Replaces `path` atomically: a reader (node:tls reloading a rotated certificate, another process)
 * sees the old file or the new one, never half of one, and a key file is never briefly world-readable.
 */
export async function writeFileAtomically(path: string, data: string, mode: number, fs: PkiFs = nodePkiFs): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await fs.mkdir(dirname(path), 0o755);
  try {
    await fs.createFile(temporary, data, mode);
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.remove(temporary);
    throw new PkiError(`${path}: cannot write (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export async function writeKeyFile(path: string, key: PrivateKey, fs: PkiFs = nodePkiFs): Promise<void> {
  await writeFileAtomically(path, key.toPem(), KEY_FILE_MODE, fs);
}

export async function writeCertificateFile(path: string, certificatePem: string, fs: PkiFs = nodePkiFs): Promise<void> {
  await writeFileAtomically(path, certificatePem, CERTIFICATE_FILE_MODE, fs);
}

async function readNamed(path: string, fs: PkiFs): Promise<string> {
  try {
    return await fs.readFile(path);
  } catch (error) {
    throw new PkiError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Reads a certificate file and checks that it holds one. */
export async function readCertificateFile(path: string, fs: PkiFs = nodePkiFs): Promise<string> {
  const pem = await readNamed(path, fs);
  parseCertificate(pem, path);
  return pem;
}

/** Reads a key file, refusing one that other users can read (as ssh does): such a key is no longer secret. */
export async function readKeyFile(path: string, fs: PkiFs = nodePkiFs): Promise<PrivateKey> {
  const pem = await readNamed(path, fs);
  const mode = await fs.mode(path);
  if ((mode & 0o077) !== 0) {
    throw new PkiError(`${path}: mode ${mode.toString(8).padStart(4, '0')} lets other users read this private key; chmod 600 it`);
  }
  return PrivateKey.fromPem(pem, path);
}

/** `--ca-cert` / `--ca-key`: reads both files and checks that they make a usable CA. */
export async function readCertificateAuthorityFiles(certificatePath: string, keyPath: string, fs: PkiFs = nodePkiFs, now: Date = new Date()): Promise<CertificateAuthority> {
  const certificatePem = await readCertificateFile(certificatePath, fs);
  const key = await readKeyFile(keyPath, fs);
  return loadCertificateAuthority(certificatePem, key.toPem(), { certificate: certificatePath, key: keyPath }, now);
}

/** Writes a CA (or any certificate and key pair): the key 0600, the certificate 0644. */
export async function writeCertificateAndKey(
  paths: { certificate: string; key: string },
  pair: { certificatePem: string; key: PrivateKey },
  fs: PkiFs = nodePkiFs,
): Promise<void> {
  // Key first: a certificate on disk without its key would be taken as a finished pair by a reader.
  await writeKeyFile(paths.key, pair.key, fs);
  await writeCertificateFile(paths.certificate, pair.certificatePem, fs);
}
