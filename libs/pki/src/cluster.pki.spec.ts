import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from './ca';
import { describeCertificate } from './certificate.info';
import { certificateNames, clusterPkiLayout, controlPlaneServerNames, ensureClusterPki, livesAtMost } from './cluster.pki';
import { writeCertificateAndKey } from './pem.files';
import { verifyIssuedBy } from './validity';

const modeOf = (path: string) => statSync(path).mode & 0o777;
const NAMES = { dnsNames: ['localhost', 'tide-host'], ipAddresses: ['127.0.0.1'] };

describe('cluster PKI layout (STATE/pki)', () => {
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), 'tide-cluster-pki-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('makes the CA, the serving and the client certificate, keys 0600, and keeps them on a second run', async () => {
    const dir = join(root, 'fresh');
    const first = await ensureClusterPki({ dir, serverNames: NAMES });
    assert.deepEqual(first.actions, { ca: 'created', server: 'issued', client: 'issued' });
    const layout = clusterPkiLayout(dir);
    for (const key of [layout.caKey, layout.serverKey, layout.clientKey]) assert.equal(modeOf(key), 0o600, key);
    for (const cert of [layout.caCertificate, layout.serverCertificate, layout.clientCertificate]) assert.equal(modeOf(cert), 0o644, cert);
    assert.equal(modeOf(dir), 0o700);
    const ca = readFileSync(layout.caCertificate, 'utf8');
    const server = readFileSync(layout.serverCertificate, 'utf8');
    assert.ok(verifyIssuedBy(server, ca, { usage: 'server' }).ok);
    assert.deepEqual(certificateNames(server), ['localhost', 'tide-host', '127.0.0.1']);
    const client = readFileSync(layout.clientCertificate, 'utf8');
    assert.ok(verifyIssuedBy(client, ca, { usage: 'client' }).ok);
    assert.deepEqual(describeCertificate(client).identity, { commonName: 'system:tide-control-plane', organizations: ['system:masters'] });

    const second = await ensureClusterPki({ dir, serverNames: NAMES });
    assert.deepEqual(second.actions, { ca: 'kept', server: 'kept', client: 'kept' });
    assert.equal(readFileSync(layout.serverCertificate, 'utf8'), server, 'nothing rewritten');
  });

  it('issues the serving certificate again when a name is missing, keeping the names it had, or when renewal is due', async () => {
    const dir = join(root, 'names');
    await ensureClusterPki({ dir, serverNames: NAMES });
    // A second control plane sharing the directory, reached at another address: the first one's names stay.
    const more = await ensureClusterPki({ dir, serverNames: { dnsNames: ['localhost', 'cp-2'], ipAddresses: ['127.0.0.1', '198.18.2.3'] } });
    assert.deepEqual(more.actions, { ca: 'kept', server: 'issued', client: 'kept' });
    assert.deepEqual(certificateNames(readFileSync(clusterPkiLayout(dir).serverCertificate, 'utf8')), ['localhost', 'cp-2', 'tide-host', '127.0.0.1', '198.18.2.3']);
    const first = await ensureClusterPki({ dir, serverNames: NAMES });
    assert.equal(first.actions.server, 'kept', 'the first one, restarted, finds its names there');
    // Leaves live a year and renew with a third left: ten months on, both leaves are issued again.
    const later = new Date(Date.now() + 300 * 86_400_000);
    const renewed = await ensureClusterPki({ dir, serverNames: NAMES, now: later });
    assert.deepEqual(renewed.actions, { ca: 'kept', server: 'issued', client: 'issued' });
  });

  it('imports an external CA, and refuses a different one once the cluster has a CA', async () => {
    const external = await createCertificateAuthority({ commonName: 'corp-ca' });
    const files = { certificate: join(root, 'corp', 'ca.pem'), key: join(root, 'corp', 'ca-key.pem') };
    await writeCertificateAndKey(files, external);
    const dir = join(root, 'external');
    const imported = await ensureClusterPki({ dir, serverNames: NAMES, externalCa: files });
    assert.equal(imported.actions.ca, 'imported');
    assert.equal(describeCertificate(readFileSync(clusterPkiLayout(dir).caCertificate, 'utf8')).identity.commonName, 'corp-ca');
    assert.equal((await ensureClusterPki({ dir, serverNames: NAMES, externalCa: files })).actions.ca, 'kept');
    await assert.rejects(ensureClusterPki({ dir: join(root, 'fresh'), serverNames: NAMES, externalCa: files }),
      /ca\.pem: this cluster already has another CA in .*fresh\/ca\.crt/);
  });

  it('refuses a key file other users can read instead of quietly replacing it', async () => {
    const dir = join(root, 'loose');
    await ensureClusterPki({ dir, serverNames: NAMES });
    chmodSync(clusterPkiLayout(dir).serverKey, 0o644);
    await assert.rejects(ensureClusterPki({ dir, serverNames: NAMES }), /control-plane\.key: mode 0644 lets other users read this private key; chmod 600 it/);
  });

  it('names a local control plane by loopback, localhost, the host name and its listen address', () => {
    assert.deepEqual(controlPlaneServerNames('Box-1', ['127.0.0.1']), { dnsNames: ['localhost', 'box-1'], ipAddresses: ['127.0.0.1'] });
    assert.deepEqual(controlPlaneServerNames('box', ['198.18.0.1', '0.0.0.0', '[::1]', 'api.example']),
      { dnsNames: ['localhost', 'box', 'api.example'], ipAddresses: ['127.0.0.1', '198.18.0.1', '::1'] });
  });

  it('issues with --certificate-validity, and issues again a leaf that lives longer than it (a lifetime shortened takes effect)', async () => {
    const dir = join(root, 'short');
    await ensureClusterPki({ dir, serverNames: NAMES });
    const layout = clusterPkiLayout(dir);
    const yearLong = describeCertificate(readFileSync(layout.serverCertificate, 'utf8'));
    const short = await ensureClusterPki({ dir, serverNames: NAMES, validityMs: 60_000 });
    assert.deepEqual(short.actions, { ca: 'kept', server: 'issued', client: 'issued' });
    const server = describeCertificate(readFileSync(layout.serverCertificate, 'utf8'));
    assert.notEqual(server.serialNumber, yearLong.serialNumber);
    // 60 s, backdated by a tenth of it (6 s).
    assert.equal(server.notAfter.getTime() - server.notBefore.getTime(), 66_000);
    assert.equal(livesAtMost(readFileSync(layout.clientCertificate, 'utf8'), 60_000), true);
    const again = await ensureClusterPki({ dir, serverNames: NAMES, validityMs: 60_000 });
    assert.deepEqual(again.actions, { ca: 'kept', server: 'kept', client: 'kept' }, 'a fresh short one is kept');
  });
});
