/** The control plane's renewal loop: it wakes when the first watched certificate is due, renews, and reports what changed. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '@tide/api/testing';
import { clusterPkiLayout, describeCertificate, ensureClusterPki } from '@tide/pki';
import { CertificateRotation, type RenewedCertificate } from './certificate.rotation';

const NAMES = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };

describe('CertificateRotation', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-rotation-'));
  const layout = clusterPkiLayout(path.join(dir, 'pki'));
  const lines: string[] = [];
  const reported: RenewedCertificate[][] = [];
  let rotation: CertificateRotation;

  before(async () => {
    // 3 s certificates: due 2 s after they were issued (two thirds of 3.3 s, counting the backdating).
    await ensureClusterPki({ dir: layout.dir, serverNames: NAMES, validityMs: 3000 });
    rotation = new CertificateRotation({
      certificates: () => [{ what: 'serving', file: layout.serverCertificate }, { what: 'client', file: layout.clientCertificate }],
      renew: async () => void await ensureClusterPki({ dir: layout.dir, serverNames: NAMES, validityMs: 3000 }),
      onRenewed: async (renewed) => void reported.push(renewed),
      log: (line) => lines.push(line), warn: (line) => lines.push(`warn: ${line}`),
    });
    await rotation.start();
  });
  after(() => {
    rotation.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renews both certificates when due, on its own, and reports the serials', async () => {
    const first = describeCertificate(fs.readFileSync(layout.serverCertificate, 'utf8')).serialNumber.toLowerCase();
    await waitFor(async () => reported.length >= 1, { what: 'a renewal', timeoutMs: 20_000 });
    const renewed = reported[0];
    assert.deepEqual(renewed.map((r) => r.what).sort(), ['client', 'serving']);
    const serving = renewed.find((r) => r.what === 'serving')!;
    assert.equal(serving.previousSerial, first);
    assert.equal(serving.serial, describeCertificate(fs.readFileSync(layout.serverCertificate, 'utf8')).serialNumber.toLowerCase());
    assert.ok(serving.notAfter.getTime() > Date.now());
    assert.ok(lines.some((line) => line.startsWith(`certificate renewed: serving (${layout.serverCertificate}), serial ${first} → ${serving.serial}`)), lines.join('\n'));
    assert.ok(!lines.some((line) => /PRIVATE KEY/.test(line)));
  });

  it('keeps renewing: a second round comes when the renewed ones are due', async () => {
    await waitFor(async () => reported.length >= 2, { what: 'a second renewal', timeoutMs: 20_000 });
    assert.notEqual(reported[1][0].serial, reported[0][0].serial);
  });

  it('reports nothing when a pass finds nothing due', async () => {
    const quiet = new CertificateRotation({
      certificates: () => [{ what: 'ca', file: layout.caCertificate }], renew: async () => undefined,
      onRenewed: async () => assert.fail('nothing was renewed'), log: () => undefined, warn: () => undefined,
    });
    await quiet.start();
    assert.deepEqual(await quiet.pass(), []);
    quiet.stop();
  });
});
