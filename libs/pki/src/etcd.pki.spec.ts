import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from './ca';
import { describeCertificate } from './certificate.info';
import { certificateNames, clusterPkiLayout, ensureClusterPki } from './cluster.pki';
import { ensureEtcdPki, etcdPkiLayout } from './etcd.pki';
import { issueServerCertificate } from './issue';
import { ensureNodeServingCertificate } from './node.serving';
import { readCertificateAuthorityFiles, writeCertificateAndKey } from './pem.files';
import { verifyIssuedBy } from './validity';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('etcd PKI (PKI/etcd)', () => {
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), 'tide-etcd-pki-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('makes a CA of its own, server, peer and the control plane\'s client certificate; keys 0600; kept on a second run', async () => {
    const first = await ensureEtcdPki({ pkiDir: root });
    assert.deepEqual(first.issued, ['ca', 'server', 'peer', 'client']);
    const layout = etcdPkiLayout(root);
    assert.equal(modeOf(layout.dir), 0o700);
    for (const key of [layout.caKey, layout.serverKey, layout.peerKey, layout.clientKey]) assert.equal(modeOf(key), 0o600, key);
    const ca = readFileSync(layout.caCertificate, 'utf8');
    const server = readFileSync(layout.serverCertificate, 'utf8');
    const peer = readFileSync(layout.peerCertificate, 'utf8');
    const client = readFileSync(layout.clientCertificate, 'utf8');
    assert.ok(verifyIssuedBy(server, ca, { usage: 'server' }).ok);
    assert.ok(verifyIssuedBy(server, ca, { usage: 'client' }).ok, "etcd's gateway dials its own client URL with it");
    assert.deepEqual(certificateNames(server), ['localhost', '127.0.0.1']);
    assert.ok(verifyIssuedBy(peer, ca, { usage: 'server' }).ok && verifyIssuedBy(peer, ca, { usage: 'client' }).ok, 'peers dial each other');
    assert.ok(verifyIssuedBy(client, ca, { usage: 'client' }).ok);
    assert.equal(describeCertificate(client).identity.commonName, 'system:tide-control-plane');
    const second = await ensureEtcdPki({ pkiDir: root });
    assert.deepEqual(second.issued, []);
    assert.equal(readFileSync(layout.clientCertificate, 'utf8'), client);
  });

  it('issues the serving certificate again when an earlier one lacks clientAuth', async () => {
    const dir = join(root, 'older');
    await ensureEtcdPki({ pkiDir: dir });
    const layout = etcdPkiLayout(dir);
    const ca = await readCertificateAuthorityFiles(layout.caCertificate, layout.caKey);
    const older = await issueServerCertificate(ca, { commonName: 'tide-etcd', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    await writeCertificateAndKey({ certificate: layout.serverCertificate, key: layout.serverKey }, older);
    const again = await ensureEtcdPki({ pkiDir: dir });
    assert.deepEqual(again.issued, ['server']);
    assert.ok(verifyIssuedBy(readFileSync(layout.serverCertificate, 'utf8'), readFileSync(layout.caCertificate, 'utf8'), { usage: 'client' }).ok);
  });

  it('trusts nothing of the cluster CA: its client certificate and etcd\'s CA are apart', async () => {
    const cluster = await ensureClusterPki({ dir: root, serverNames: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } });
    const etcdCa = readFileSync(etcdPkiLayout(root).caCertificate, 'utf8');
    const clusterClient = readFileSync(clusterPkiLayout(root).clientCertificate, 'utf8');
    assert.equal(verifyIssuedBy(clusterClient, etcdCa).ok, false, 'a cluster certificate (a node\'s, an administrator\'s) is no etcd client');
    assert.notEqual(cluster.ca.certificatePem, etcdCa);
  });
});

describe('node serving certificate (NODE_STATE/pki)', () => {
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), 'tide-node-serving-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('is the node\'s (CN system:node:NAME) for its address, kept while good, issued again for a new address', async () => {
    const ca = await createCertificateAuthority();
    const first = await ensureNodeServingCertificate({ nodeStateDir: root, nodeName: 'node-1', addresses: ['127.0.1.1'], ca });
    assert.equal(first.action, 'issued');
    const pem = readFileSync(first.layout.certificate, 'utf8');
    assert.ok(verifyIssuedBy(pem, ca.certificatePem, { usage: 'server' }).ok);
    assert.equal(describeCertificate(pem).identity.commonName, 'system:node:node-1');
    assert.deepEqual(certificateNames(pem), ['127.0.1.1']);
    assert.equal(readFileSync(first.layout.caCertificate, 'utf8'), ca.certificatePem);
    assert.equal(modeOf(first.layout.key), 0o600);
    assert.equal((await ensureNodeServingCertificate({ nodeStateDir: root, nodeName: 'node-1', addresses: ['127.0.1.1'], ca })).action, 'kept');
    const moved = await ensureNodeServingCertificate({ nodeStateDir: root, nodeName: 'node-1', addresses: ['127.0.1.9'], ca });
    assert.equal(moved.action, 'issued');
    assert.deepEqual(certificateNames(readFileSync(moved.layout.certificate, 'utf8')), ['127.0.1.9']);
  });
});
