/**
 * The client against the real thing: Debian's docker-registry (distribution 2.8) with TLS from a
 * cluster CA and token auth whose tokens RegistryTokenSigner signs. Needs `docker-registry`
 * (scripts/setup.sh); starts one registry process on loopback (run under the machine lock).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCertificateAuthority, ensureRegistryPki } from '@tide/pki';
import { RegistryClient } from './client';
import { RegistryError } from './errors';
import { MEDIA_TYPES } from './manifest';
import { RegistrySupervisor, waitRegistryUp } from './registry.supervisor';
import { startTestTokenServer, type TestTokenServer } from './testing/token.server';
import { RegistryTokenSigner } from './token.signer';

const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('RegistryClient against docker-registry with token auth', () => {
  let dir: string;
  let ca: string;
  let registry: RegistrySupervisor;
  let tokens: TestTokenServer;
  let address: string;
  const clients: RegistryClient[] = [];
  const client = (user?: string, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) => {
    const c = new RegistryClient({ registry: address, ca, ...(user ? { credentials: { username: user, password: 'secret' } } : {}), ...extra });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-registry-'));
    const authority = await createCertificateAuthority();
    ca = authority.certificatePem;
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca);
    const pki = await ensureRegistryPki({ dir, ca: authority, serverNames: { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } });
    const signer = new RegistryTokenSigner({ keyPem: fs.readFileSync(pki.layout.tokenKey, 'utf8'), certificatePem: fs.readFileSync(pki.layout.tokenCertificate, 'utf8') });
    tokens = await startTestTokenServer(
      { cert: fs.readFileSync(pki.layout.serverCertificate, 'utf8'), key: fs.readFileSync(pki.layout.serverKey, 'utf8') }, signer, 'tide-registry', 'tide-test');
    address = `127.0.0.1:${await freePort()}`;
    registry = new RegistrySupervisor({
      dir: path.join(dir, 'registry'), listen: address,
      tls: { certificate: pki.layout.serverCertificate, key: pki.layout.serverKey, ca: path.join(dir, 'ca.crt') },
      auth: { realm: tokens.realm, service: 'tide-registry', issuer: 'tide-test', rootCertBundle: pki.layout.tokenCertificate },
    });
    await registry.start();
  });

  after(async () => {
    for (const c of clients) await c.close();
    await registry?.stop();
    await tokens?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Pushes a one-layer image (its layer `size` random bytes, in chunks when chunkSize is given) and returns its parts. */
  async function pushImage(c: RegistryClient, repository: string, tag: string, size: number, chunkSize?: number) {
    const layer = randomBytes(size);
    const layerFile = path.join(dir, `layer-${randomBytes(4).toString('hex')}`);
    fs.writeFileSync(layerFile, layer);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
    const configFile = `${layerFile}.config`;
    fs.writeFileSync(configFile, config);
    const layerDescriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length };
    const configDescriptor = { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf(config), size: config.length };
    assert.equal(await c.uploadBlob(repository, layerDescriptor, layerFile, chunkSize ? { chunkSize } : {}), true);
    assert.equal(await c.uploadBlob(repository, configDescriptor, configFile), true);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: configDescriptor, layers: [layerDescriptor] }));
    const digest = await c.putManifest(repository, tag, manifest, MEDIA_TYPES.ociManifest);
    return { layer, layerDescriptor, config, manifest, digest };
  }

  it('pushes monolithically and in chunks, then pulls by tag and digest with every byte verified', async () => {
    const admin = client('admin');
    const small = await pushImage(admin, 'shop/web', '1', 50_000);
    const chunked = await pushImage(admin, 'shop/api', '2', 300_000, 64 * 1024);
    const reader = client('view');
    for (const [repository, tag, image] of [['shop/web', '1', small], ['shop/api', '2', chunked]] as const) {
      const resolved = await reader.resolveImage(repository, tag, { os: 'linux', architecture: 'amd64' });
      assert.equal(resolved.digest, image.digest);
      assert.deepEqual(resolved.document.layers[0], image.layerDescriptor);
      const byDigest = await reader.manifest(repository, image.digest);
      assert.deepEqual(byDigest.bytes, image.manifest);
      assert.deepEqual(await reader.blob(repository, resolved.document.config), image.config);
      const file = path.join(dir, 'pulled');
      await reader.downloadBlob(repository, image.layerDescriptor, file);
      assert.deepEqual(fs.readFileSync(file), image.layer);
    }
    // A blob already there is not sent again.
    const again = path.join(dir, 'again');
    fs.writeFileSync(again, small.layer);
    assert.equal(await admin.uploadBlob('shop/web', small.layerDescriptor, again), false);
  });

  it('picks the platform from an image index, and says which platforms there are when none fits', async () => {
    const admin = client('admin');
    const amd = await pushImage(admin, 'multi', 'amd64-only', 1000);
    const arm = await pushImage(admin, 'multi', 'arm64-only', 1000);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [
        { mediaType: MEDIA_TYPES.ociManifest, digest: arm.digest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: MEDIA_TYPES.ociManifest, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }));
    const indexDigest = await admin.putManifest('multi', 'latest', index, MEDIA_TYPES.ociIndex);
    const reader = client('view');
    const picked = await reader.resolveImage('multi', 'latest', { os: 'linux', architecture: 'arm64' });
    assert.equal(picked.digest, arm.digest);
    assert.equal(picked.index?.digest, indexDigest);
    assert.equal((await reader.resolveImage('multi', indexDigest, { os: 'linux', architecture: 'amd64' })).digest, amd.digest);
    await assert.rejects(reader.resolveImage('multi', 'latest', { os: 'linux', architecture: 's390x' }),
      (e: RegistryError) => e.code === 'NotFound' && /linux\/arm64\/v8, linux\/amd64/.test(e.message));
  });

  it('refuses what the token does not grant, and says so', async () => {
    const file = path.join(dir, 'denied');
    fs.writeFileSync(file, 'x');
    const blob = { digest: digestOf(Buffer.from('x')), size: 1 };
    // An edit token of namespace shop may push to shop/..., not elsewhere; view may not push at all.
    assert.equal(await client('edit@shop').uploadBlob('shop/cart', blob, file), true);
    await assert.rejects(client('edit@shop').uploadBlob('other/cart', blob, file), (e: RegistryError) => e.code === 'Unauthorized' || e.code === 'Denied');
    await assert.rejects(client('view').uploadBlob('shop/cart2', blob, file), (e: RegistryError) => e.code === 'Unauthorized' || e.code === 'Denied');
    await assert.rejects(client('nobody').manifest('shop/web', '1'), (e: RegistryError) => e.code === 'Unauthorized' && /token service .* refused/.test(e.message));
    await assert.rejects(client().manifest('shop/web', '1'), (e: RegistryError) => e.code === 'Unauthorized');
    await assert.rejects(client('view').manifest('shop/web', 'nope'), (e: RegistryError) => e.code === 'NotFound' && /MANIFEST_UNKNOWN/.test(e.message));
  });

  it('trusts only the given CA', async () => {
    const other = await createCertificateAuthority();
    await assert.rejects(client('view', { ca: other.certificatePem }).manifest('shop/web', '1'), (e: RegistryError) => e.code === 'Unreachable' && /certificate/i.test(e.message));
  });

  it('is started again when it dies, with what it stored', async () => {
    const before = registry.pid;
    assert.ok(before);
    process.kill(before, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while ((registry.pid === undefined || registry.pid === before) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(registry.pid && registry.pid !== before, 'a new registry process');
    await waitRegistryUp(address, ca, 30_000);
    assert.equal((await client('view').manifest('shop/web', '1')).document.kind, 'manifest');
  });
});
