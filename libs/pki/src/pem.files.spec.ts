import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from './ca';
import type { CertificateAuthority } from './issue';
import {
  nodePkiFs, readCertificateAuthorityFiles, readCertificateFile, readKeyFile, writeCertificateAndKey, writeFileAtomically, type PkiFs,
} from './pem.files';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('PEM files', () => {
  let dir: string;
  let ca: CertificateAuthority;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tide-pki-'));
    ca = await createCertificateAuthority();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the key 0600 and the certificate 0644 whatever the umask, and reads them back', async () => {
    for (const umask of [0o000, 0o077]) {
      const previous = process.umask(umask);
      try {
        const paths = { certificate: join(dir, `u${umask}`, 'ca.crt'), key: join(dir, `u${umask}`, 'ca.key') };
        await writeCertificateAndKey(paths, ca);
        assert.equal(modeOf(paths.key), 0o600, `key under umask ${umask.toString(8)}`);
        assert.equal(modeOf(paths.certificate), 0o644, `certificate under umask ${umask.toString(8)}`);
        const loaded = await readCertificateAuthorityFiles(paths.certificate, paths.key);
        assert.equal(loaded.certificatePem, ca.certificatePem);
        assert.equal(loaded.key.toPem(), ca.key.toPem());
      } finally {
        process.umask(previous);
      }
    }
  });

  it('replaces a file atomically and leaves no temporary file behind', async () => {
    const path = join(dir, 'server.crt');
    await writeFileAtomically(path, 'one', 0o644);
    await writeFileAtomically(path, 'two', 0o644);
    assert.equal(readFileSync(path, 'utf8'), 'two');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.tmp')), []);
  });

  it('keeps the old file and removes the temporary one when the rename fails', async () => {
    const path = join(dir, 'kept.crt');
    await writeFileAtomically(path, 'old', 0o644);
    const failing: PkiFs = { ...nodePkiFs, rename: async () => { throw Object.assign(new Error('no'), { code: 'EXDEV' }); } };
    await assert.rejects(writeFileAtomically(path, 'new', 0o644, failing), /kept\.crt: cannot write \(EXDEV\)/);
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.tmp')), []);
  });

  it('refuses a key file other users can read, naming it and its mode', async () => {
    const path = join(dir, 'open.key');
    writeFileSync(path, ca.key.toPem());
    chmodSync(path, 0o644);
    await assert.rejects(readKeyFile(path), /open\.key: mode 0644 lets other users read this private key; chmod 600 it/);
    chmodSync(path, 0o600);
    assert.equal((await readKeyFile(path)).algorithm, 'ECDSA-P256');
  });

  it('names the missing or wrong file', async () => {
    await assert.rejects(readCertificateFile(join(dir, 'missing.crt')), /missing\.crt: cannot read \(ENOENT\)/);
    const notCert = join(dir, 'not.crt');
    writeFileSync(notCert, 'hello');
    await assert.rejects(readCertificateFile(notCert), /not\.crt: no PEM certificate/);
  });
});
