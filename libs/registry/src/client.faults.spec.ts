/**
 * What a broken or hostile registry gets from the client: each case a clear RegistryError, nothing
 * left on disk, and no wait longer than the deadline. A plain-HTTP fake on loopback plays the registry.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryClient } from './client';
import { RegistryError } from './errors';
import { MEDIA_TYPES } from './manifest';

const digestOf = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const GOOD_BLOB = Buffer.from('the real layer');
const LIE = Buffer.from('something else!');

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const routes = new Map<string, Handler>();

describe('RegistryClient against a broken registry', () => {
  let server: http.Server;
  let dir: string;
  let address: string;
  const clients: RegistryClient[] = [];
  const client = (extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) => {
    // A generous deadline, so that a busy machine never turns an answer into a timeout; the hang test sets a short one.
    const c = new RegistryClient({ registry: address, plainHttp: true, idleTimeoutMs: 10_000, ...extra });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-registry-faults-'));
    server = http.createServer((req, res) => {
      const handler = routes.get(`${req.method} ${req.url}`);
      if (handler) return handler(req, res);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const c of clients) await c.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a manifest that is not JSON, not schema 2, or missing its layers', async () => {
    routes.set('GET /v2/garbage/manifests/1', (_req, res) => res.writeHead(200, { 'content-type': MEDIA_TYPES.ociManifest }).end('<html>hello</html>'));
    routes.set('GET /v2/garbage/manifests/2', (_req, res) => res.writeHead(200).end(JSON.stringify({ schemaVersion: 1, name: 'x' })));
    routes.set('GET /v2/garbage/manifests/3', (_req, res) => res.writeHead(200).end(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { digest: 'md5:x', size: 1, mediaType: 'x' }, layers: [] })));
    await assert.rejects(client().manifest('garbage', '1'), (e: RegistryError) => e.code === 'Invalid' && /not JSON/.test(e.message));
    await assert.rejects(client().manifest('garbage', '2'), (e: RegistryError) => e.code === 'Invalid' && /schemaVersion 1/.test(e.message));
    await assert.rejects(client().manifest('garbage', '3'), (e: RegistryError) => e.code === 'Invalid' && /config: digest "md5:x"/.test(e.message));
  });

  it('refuses a manifest over the size cap, announced or not', async () => {
    const big = Buffer.alloc(5000, 0x20);
    routes.set('GET /v2/big/manifests/announced', (_req, res) => res.writeHead(200, { 'content-length': String(big.length) }).end(big));
    routes.set('GET /v2/big/manifests/streamed', (_req, res) => {
      res.writeHead(200);
      res.write(big);
      res.end(big);
    });
    await assert.rejects(client({ maxManifestBytes: 4096 }).manifest('big', 'announced'), (e: RegistryError) => e.code === 'TooLarge' && /announced 5000 bytes/.test(e.message));
    await assert.rejects(client({ maxManifestBytes: 4096 }).manifest('big', 'streamed'), (e: RegistryError) => e.code === 'TooLarge' && /limit of 4096/.test(e.message));
  });

  it('refuses a manifest whose bytes are not the digest asked for or announced', async () => {
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf('c'), size: 1 }, layers: [] });
    const wanted = digestOf('another manifest');
    routes.set(`GET /v2/lying/manifests/${wanted}`, (_req, res) => res.writeHead(200).end(manifest));
    routes.set('GET /v2/lying/manifests/1', (_req, res) => res.writeHead(200, { 'docker-content-digest': wanted }).end(manifest));
    await assert.rejects(client().manifest('lying', wanted), (e: RegistryError) => e.code === 'DigestMismatch');
    await assert.rejects(client().manifest('lying', '1'), (e: RegistryError) => e.code === 'DigestMismatch' && /announced/.test(e.message));
  });

  it('refuses a corrupted blob and leaves no file behind', async () => {
    routes.set(`GET /v2/corrupt/blobs/${digestOf(GOOD_BLOB)}`, (_req, res) => res.writeHead(200).end(LIE.subarray(0, GOOD_BLOB.length)));
    routes.set(`GET /v2/long/blobs/${digestOf(GOOD_BLOB)}`, (_req, res) => res.writeHead(200).end(Buffer.concat([GOOD_BLOB, LIE])));
    const file = path.join(dir, 'blob');
    for (const repository of ['corrupt', 'long']) {
      await assert.rejects(client().downloadBlob(repository, { digest: digestOf(GOOD_BLOB), size: GOOD_BLOB.length }, file), (e: RegistryError) => e.code === 'DigestMismatch');
      assert.equal(fs.existsSync(file), false, `${repository}: nothing of the blob is left`);
    }
    await assert.rejects(client({ maxBlobBytes: 4 }).downloadBlob('corrupt', { digest: digestOf(GOOD_BLOB), size: GOOD_BLOB.length }, file), (e: RegistryError) => e.code === 'TooLarge');
  });

  it('gives up on a registry that never answers, or stops in the middle, within the deadline', async () => {
    routes.set('GET /v2/hang/manifests/1', () => undefined);
    routes.set(`GET /v2/stall/blobs/${digestOf(GOOD_BLOB)}`, (_req, res) => {
      res.writeHead(200, { 'content-length': String(GOOD_BLOB.length) });
      res.write(GOOD_BLOB.subarray(0, 3));
    });
    await assert.rejects(client({ idleTimeoutMs: 500 }).manifest('hang', '1'), (e: RegistryError) => e.code === 'Timeout' && /no answer within 500 ms|did not finish/.test(e.message));
    const file = path.join(dir, 'stalled');
    await assert.rejects(client({ idleTimeoutMs: 500 }).downloadBlob('stall', { digest: digestOf(GOOD_BLOB), size: GOOD_BLOB.length }, file), (e: RegistryError) => e.code === 'Timeout' && /stopped sending/.test(e.message));
    assert.equal(fs.existsSync(file), false);
  });

  it("passes the registry's own error on, and names an unreachable registry", async () => {
    await assert.rejects(client().manifest('missing', '1'), (e: RegistryError) => e.code === 'NotFound' && /NAME_UNKNOWN: repository name not known/.test(e.message));
    const closed = new RegistryClient({ registry: '127.0.0.1:1', plainHttp: true });
    clients.push(closed);
    await assert.rejects(closed.manifest('x', '1'), (e: RegistryError) => e.code === 'Unreachable' && /127\.0\.0\.1:1/.test(e.message));
  });

  it('answers a Bearer challenge at the realm it names, with the scope, and a Basic one with the credentials', async () => {
    const seen: string[] = [];
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf('c'), size: 1 }, layers: [] });
    routes.set('GET /v2/private/manifests/1', (req, res) => {
      seen.push(req.headers.authorization ?? 'none');
      if (req.headers.authorization !== 'Bearer T0KEN') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${address}/token",service="reg",scope="repository:private:pull"` }).end();
      } else res.writeHead(200).end(manifest);
    });
    routes.set('GET /token?service=reg&scope=repository%3Aprivate%3Apull', (req, res) => {
      seen.push(`token ${req.headers.authorization}`);
      res.writeHead(200).end(JSON.stringify({ token: 'T0KEN', expires_in: 300 }));
    });
    routes.set('GET /v2/basic/manifests/1', (req, res) => {
      if (!req.headers.authorization?.startsWith('Basic ')) res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      else res.writeHead(200).end(manifest);
    });
    const c = client({ credentials: { username: 'u', password: 'p' } });
    await c.manifest('private', '1');
    await c.manifest('private', '1');
    assert.deepEqual(seen, ['none', `token Basic ${Buffer.from('u:p').toString('base64')}`, 'Bearer T0KEN', 'Bearer T0KEN'], 'one token, reused');
    await c.manifest('basic', '1');
  });
});
