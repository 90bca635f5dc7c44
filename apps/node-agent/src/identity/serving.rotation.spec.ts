/** The agent renews its own HTTPS serving certificate over gRPC when it is due, and leaves alone one it did not get from the cluster. */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import {
  createCertificateAuthority, describeCertificate, issueServerCertificate, nodeIdentity, signCertificateRequest, writeCertificateAndKey, writeCertificateFile,
  type CertificateAuthority,
} from '@tide/pki';
import type { AgentTlsFiles } from '../http/agent.tls';
import { rotateServingCertificate } from './serving.rotation';

async function servingFiles(dir: string, ca: CertificateAuthority, commonName: string, validityMs: number): Promise<AgentTlsFiles> {
  fs.mkdirSync(dir, { recursive: true });
  const files = { certificate: path.join(dir, 'serving.crt'), key: path.join(dir, 'serving.key'), clientCa: path.join(dir, 'ca.crt') };
  await writeCertificateFile(files.clientCa, ca.certificatePem);
  await writeCertificateAndKey(files, await issueServerCertificate(ca, { commonName, ipAddresses: ['127.0.1.1'], validityMs }));
  return files;
}

/** The control plane's side of RenewServingCertificate: the CSR must be node-1's, for its registered address. */
function signer(ca: CertificateAuthority, asked: string[]) {
  return async (csr: string) => {
    asked.push(csr);
    const signed = await signCertificateRequest(ca, csr, { allowedIdentity: nodeIdentity('node-1'), validityMs: 3000, serving: { ipAddresses: ['127.0.1.1'] } });
    if (!signed.ok) throw new Error(signed.reason);
    return { certificate: signed.value, ca: ca.certificatePem };
  };
}

describe('rotateServingCertificate', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-serving-rotation-'));
  const stops: Array<() => void> = [];
  after(() => {
    for (const stop of stops) stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renews a due certificate of the cluster CA for this node, writes the files (key 0600) and tells the server', async () => {
    const ca = await createCertificateAuthority();
    const files = await servingFiles(path.join(dir, 'own'), ca, 'system:node:node-1', 3000);
    const first = describeCertificate(fs.readFileSync(files.certificate, 'utf8')).serialNumber;
    const asked: string[] = [];
    let reloaded = 0;
    const lines: string[] = [];
    stops.push(rotateServingCertificate({
      nodeName: 'node-1', address: '127.0.1.1', files, ca: () => ca.certificatePem, renew: signer(ca, asked),
      onRenewed: async () => void reloaded++, log: (line) => lines.push(line),
    }));
    await waitFor(() => reloaded >= 1, { what: 'a renewal', timeoutMs: 20_000 });
    const renewed = describeCertificate(fs.readFileSync(files.certificate, 'utf8'));
    assert.notEqual(renewed.serialNumber, first);
    assert.deepEqual(renewed.ipAddresses, ['127.0.1.1']);
    assert.equal(renewed.identity.commonName, 'system:node:node-1');
    assert.equal(fs.statSync(files.key).mode & 0o777, 0o600);
    assert.ok(lines.some((line) => /^serving certificate renewed \(serial \w+, until /.test(line)), lines.join('\n'));
    assert.ok(!lines.some((line) => /PRIVATE KEY/.test(line)));
  });

  it('leaves alone a certificate of another CA or of another name (the operator renews it)', async () => {
    const ca = await createCertificateAuthority();
    const other = await createCertificateAuthority();
    for (const [name, authority, commonName] of [['foreign', other, 'system:node:node-1'], ['renamed', ca, 'agent.example']] as const) {
      const files = await servingFiles(path.join(dir, name), authority, commonName, 3000);
      const asked: string[] = [];
      const lines: string[] = [];
      stops.push(rotateServingCertificate({
        nodeName: 'node-1', address: '127.0.1.1', files, ca: () => ca.certificatePem, renew: signer(ca, asked),
        onRenewed: async () => assert.fail('nothing to renew'), log: (line) => lines.push(line),
      }));
      await waitFor(() => lines.length > 0, { what: 'the note', timeoutMs: 5000 });
      assert.match(lines[0], /is not the cluster CA's for system:node:node-1: the agent leaves its renewal to whoever made it/);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.deepEqual(asked, [], name);
    }
  });
});
