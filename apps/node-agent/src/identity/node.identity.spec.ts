/**
 * Joining against a real HTTPS server that presents its chain (as the control plane's API does): the
 * CA pinned by hash, the key kept 0600, the certificate reused on restart; a wrong pin sends nothing,
 * a refusal is shown as the control plane worded it.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  caPin, createCertificateAuthority, describeCertificate, issueServerCertificate, nodeIdentity, signCertificateRequest, type CertificateAuthority,
} from '@tide/pki';
import { ensureNodeIdentity, identityPaths } from './node.identity';

const TOKEN = `tide_0123456789ab_${'A'.repeat(43)}`;

describe('node identity (join)', () => {
  let ca: CertificateAuthority;
  let server: https.Server;
  let port = 0;
  const joins: Array<{ authorization?: string; nodeName: string }> = [];
  let refusal: { status: number; error: string } | undefined;
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-identity-'));
    dirs.push(dir);
    return dir;
  };

  before(async () => {
    ca = await createCertificateAuthority();
    const serving = await issueServerCertificate(ca, { commonName: 'tide-control-plane', ipAddresses: ['127.0.0.1'] });
    server = https.createServer({ cert: serving.certificatePem + ca.certificatePem, key: serving.key.toPem() }, (req, res) => {
      if (req.method !== 'POST') return res.end();
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', async () => {
        const { nodeName, csr } = JSON.parse(body) as { nodeName: string; csr: string };
        joins.push({ authorization: req.headers.authorization, nodeName });
        if (refusal) return res.writeHead(refusal.status).end(JSON.stringify({ error: refusal.error }));
        const signed = await signCertificateRequest(ca, csr, { allowedIdentity: nodeIdentity(nodeName) });
        res.writeHead(signed.ok ? 200 : 403).end(JSON.stringify(signed.ok ? { certificate: signed.value, ca: ca.certificatePem } : { error: signed.reason }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server?.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const join = (caHash: string) => ({ token: TOKEN, caHash, apiServer: `127.0.0.1:${port}` });

  it('joins with the pinned CA, keeps the key 0600, and reuses the certificate on restart', async () => {
    const dir = stateDir();
    const logs: string[] = [];
    const first = await ensureNodeIdentity({ nodeName: 'node-7', stateDir: dir, join: join(caPin(ca.certificatePem)), log: (line) => logs.push(line) });
    assert.equal(describeCertificate(first.certificate).identity.commonName, 'system:node:node-7');
    assert.equal(first.ca, ca.certificatePem);
    assert.deepEqual(joins.at(-1), { authorization: `Bearer ${TOKEN}`, nodeName: 'node-7' });
    const paths = identityPaths(dir);
    assert.equal(fs.statSync(paths.key).mode & 0o777, 0o600);
    assert.doesNotMatch(logs.join('\n'), /PRIVATE KEY|tide_0123/);
    const count = joins.length;
    const again = await ensureNodeIdentity({ nodeName: 'node-7', stateDir: dir, join: join(caPin(ca.certificatePem)), log: () => undefined });
    assert.equal(again.certificate, first.certificate, 'a restart reuses its certificate');
    assert.equal(joins.length, count, 'and does not join again');
    // The same state dir told to join a cluster whose CA is another: it joins, and keeps the new certificate.
    const otherCluster = await createCertificateAuthority();
    await assert.rejects(ensureNodeIdentity({ nodeName: 'node-7', stateDir: dir, join: join(caPin(otherCluster.certificatePem)), log: () => undefined }), /not the pinned/);
    assert.equal(fs.readFileSync(paths.certificate, 'utf8'), first.certificate, 'a failed join changes nothing');
  });

  it('sends nothing to a server whose CA does not match the pin', async () => {
    const dir = stateDir();
    const other = await createCertificateAuthority();
    const count = joins.length;
    await assert.rejects(ensureNodeIdentity({ nodeName: 'node-8', stateDir: dir, join: join(caPin(other.certificatePem)), log: () => undefined }),
      /refusing to join through 127\.0\.0\.1:\d+: the cluster CA's hash is sha256:[0-9a-f]{64}, not the pinned sha256:[0-9a-f]{64} \(check --ca-hash/);
    assert.equal(joins.length, count, 'the token was never sent');
    assert.equal(fs.existsSync(identityPaths(dir).key), false);
  });

  it('shows the control plane\'s refusal, and asks for --join when there is no certificate', async () => {
    refusal = { status: 401, error: 'token 0123456789ab expired at 2026-01-01T00:00:00.000Z' };
    try {
      await assert.rejects(ensureNodeIdentity({ nodeName: 'node-9', stateDir: stateDir(), join: join(caPin(ca.certificatePem)), log: () => undefined }),
        /the control plane refused the join \(401\): token 0123456789ab expired at/);
    } finally {
      refusal = undefined;
    }
    await assert.rejects(ensureNodeIdentity({ nodeName: 'node-9', stateDir: stateDir(), log: () => undefined }),
      /no node certificate in .*: join the cluster with --join TOKEN --ca-hash sha256:… \(tsctl token create --join prints the whole command\)/);
  });
});
