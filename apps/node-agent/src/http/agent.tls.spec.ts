/** The agent's serving certificate is renewed in place: new files are served to new connections without a restart. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Registry } from 'prom-client';
import { issueServerCertificate, writeCertificateAndKey } from '@tide/pki';
import { waitFor } from '@tide/api/testing';
import { FakeImageService } from '../testing/fake.image.service';
import { FakeRuntime } from '@tide/runtime/testing';
import { TestAgentPki, makeTestAgentPki } from '../testing/agent.pki';
import { AgentHttpServer, startAgentHttp } from './agent.http';
import { reloadOnChange } from './agent.tls';

/** The serial number of the certificate a new connection to the port is served. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('agent serving certificate rotation', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-agent-tls-'));
  let pki: TestAgentPki;
  let server: AgentHttpServer;
  let stop: () => void;
  const warnings: string[] = [];

  before(async () => {
    pki = await makeTestAgentPki(path.join(dir, 'pki'));
    const runtime = new FakeRuntime();
    server = await startAgentHttp({
      tls: pki.tls, auth: pki.auth(), address: '127.0.0.1', port: 0, registry: new Registry(), scratchDir: path.join(dir, 'scratch'),
      logPath: () => undefined, health: () => ({ ok: true, text: 'ok' }), images: new FakeImageService(),
      exec: (ns, name, options) => runtime.exec(`${ns}.${name}`, options),
    });
    stop = reloadOnChange(server.server, pki.files, () => undefined, (line) => warnings.push(line), 50);
  });
  after(async () => {
    stop();
    await server.close();
    await pki.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a renewed certificate to new connections, and keeps the old one while the new key is unreadable', async () => {
    const ca = pki.ca.certificatePem;
    const first = await servedSerial(server.port, ca);
    assert.equal(first, new X509Certificate(fs.readFileSync(pki.files.certificate)).serialNumber);
    const renewed = await issueServerCertificate(pki.ca, { commonName: 'system:node:test', ipAddresses: ['127.0.0.1'] });
    await writeCertificateAndKey(pki.files, renewed);
    const second = await waitFor(async () => {
      const serial = await servedSerial(server.port, ca);
      return serial !== first ? serial : undefined;
    }, { what: 'the renewed certificate served', timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(second, new X509Certificate(renewed.certificatePem).serialNumber);
    fs.chmodSync(pki.files.key, 0o644); // a key other users can read is refused: the current one stays
    fs.utimesSync(pki.files.certificate, new Date(), new Date(Date.now() + 5000));
    await waitFor(async () => warnings.some((line) => /lets other users read this private key/.test(line)) || undefined, { what: 'a warning', timeoutMs: 10_000, intervalMs: 50 });
    assert.match(warnings.find((line) => /lets other users/.test(line))!, /^keeping the current serving certificate: /);
    assert.equal(await servedSerial(server.port, ca), second);
    fs.chmodSync(pki.files.key, 0o600);
  });

  it('keeps the current certificate while a renewal has written its key but not yet its certificate, then serves the new pair', async () => {
    const ca = pki.ca.certificatePem;
    await waitFor(async () => (await servedSerial(server.port, ca)) === new X509Certificate(fs.readFileSync(pki.files.certificate)).serialNumber || undefined,
      { what: 'the files\' certificate served', timeoutMs: 10_000, intervalMs: 50 });
    const before = await servedSerial(server.port, ca);
    const renewed = await issueServerCertificate(pki.ca, { commonName: 'system:node:test', ipAddresses: ['127.0.0.1'] });
    warnings.length = 0;
    // writeCertificateAndKey writes the key first: stop there, as a check between its two writes sees it.
    await writeCertificateAndKey({ certificate: path.join(dir, 'unused.crt'), key: pki.files.key }, renewed);
    await waitFor(async () => warnings.some((line) => /key values mismatch/.test(line)) || undefined, { what: 'the mismatch reported', timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(await servedSerial(server.port, ca), before, 'the current pair is still served');
    await writeCertificateAndKey(pki.files, renewed);
    const served = await waitFor(async () => {
      const serial = await servedSerial(server.port, ca);
      return serial !== before ? serial : undefined;
    }, { what: 'the new pair served', timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(served, new X509Certificate(renewed.certificatePem).serialNumber);
  });
});
