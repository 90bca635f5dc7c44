/** etcd as the control plane runs it: only a client with a certificate of etcd's CA gets in. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ensureClusterPki } from '@tide/pki';
import { waitFor } from '@tide/api/testing';
import { createEtcdClient, createTlsEtcdClient } from './etcd.client';
import { TestEtcd, startTestEtcd } from './testing';

/** What a TLS handshake with etcd's client port ends in, given what the client shows. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
      // TLS 1.3: the server judges the client certificate after the client's Finished; a request shows the verdict.
      socket.write('GET /version HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n');
    });
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`error: ${error.code ?? error.message}`));
    socket.on('close', () => resolve(text ? text.split('\r\n')[0] : 'closed'));
  });
}

describe('etcd with client TLS', { timeout: 60_000 }, () => {
  let etcd: TestEtcd;
  let dir: string;
  const port = () => Number(new URL(etcd.url).port);

  before(async () => {
    etcd = await startTestEtcd();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-etcd-tls-'));
  });
  after(async () => {
    await etcd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the control plane\'s client certificate over https', async () => {
    assert.match(etcd.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    await etcd.client.put('/tide/tls-check').value('ok');
    assert.equal(await etcd.client.get('/tide/tls-check').string(), 'ok');
    const ca = fs.readFileSync(etcd.tls.caCertificate);
    const ok = await handshake(port(), { ca, cert: fs.readFileSync(etcd.tls.clientCertificate), key: fs.readFileSync(etcd.tls.clientKey) });
    assert.match(ok, /^HTTP\/1\.1 200/);
  });

  it('refuses a client without a certificate, with one of another CA (the cluster CA), and plain HTTP', async () => {
    const ca = fs.readFileSync(etcd.tls.caCertificate);
    assert.doesNotMatch(await handshake(port(), { ca }), /^HTTP/, 'no certificate');
    const cluster = await ensureClusterPki({ dir, serverNames: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } });
    const foreign = { ca, cert: fs.readFileSync(cluster.layout.clientCertificate), key: fs.readFileSync(cluster.layout.clientKey) };
    assert.doesNotMatch(await handshake(port(), foreign), /^HTTP/, 'the cluster CA\'s control-plane certificate is not etcd\'s');
    const plain = await new Promise<string>((resolve) => {
      const socket = net.connect(port(), '127.0.0.1', () => socket.write('GET /version HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
    assert.doesNotMatch(plain, /"etcdserver"/, 'no answer in clear');
    const anonymous = createEtcdClient(etcd.url, { dialTimeout: 2000, credentials: { rootCertificate: ca } });
    try {
      await assert.rejects(anonymous.get('/tide/tls-check').string());
    } finally {
      anonymous.close();
    }
  });

  it('takes a renewed client certificate for its next connection without a new client (createTlsEtcdClient)', async () => {
    // The files start with a certificate etcd refuses (the cluster CA's), then get etcd's own: only a
    // client that reads them again for a new connection gets in.
    const cluster = await ensureClusterPki({ dir: path.join(dir, 'renewal'), serverNames: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } });
    const files = { caCertificate: etcd.tls.caCertificate, clientCertificate: path.join(dir, 'client.crt'), clientKey: path.join(dir, 'client.key') };
    fs.copyFileSync(cluster.layout.clientCertificate, files.clientCertificate);
    fs.copyFileSync(cluster.layout.clientKey, files.clientKey);
    const rotating = createTlsEtcdClient(etcd.url, files, { dialTimeout: 2000 });
    try {
      await assert.rejects(rotating.client.get('/tide/tls-check').string(), Error, 'refused with the foreign certificate');
      fs.copyFileSync(etcd.tls.clientCertificate, files.clientCertificate);
      fs.copyFileSync(etcd.tls.clientKey, files.clientKey);
      rotating.reload();
      const value = await waitFor(async () => rotating.client.get('/tide/tls-check').string().catch(() => undefined), { what: 'a call with the renewed certificate', timeoutMs: 30_000 });
      assert.equal(value, 'ok');
    } finally {
      rotating.client.close();
    }
  });
});
