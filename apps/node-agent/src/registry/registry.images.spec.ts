/**
 * Pulls into a real content store (root: layers are unpacked with their whiteouts) from a registry
 * played by a plain-HTTP server on loopback: an image arrives whole, a corrupted blob, a blob longer
 * than its descriptor, a tar that escapes its layer, a manifest that is garbage or a registry that
 * stops answering mid-layer are refused with a clear error and leave no image and no debris, a layer
 * already there is not fetched.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageStore } from '@tide/runtime';
import { openBlobForPeer } from './peer.blobs';
import { pullImage } from './registry.images';

const digest = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A one-file ustar archive (enough for a layer; the name is written as given, `../x` included). */
function tar(name: string, body: string): Buffer {
  const data = Buffer.from(body);
  const header = Buffer.alloc(512);
  header.write(name, 0, 100);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\x0000', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

interface Served {
  manifest: Buffer;
  blobs: Map<string, Buffer>;
  /** Sends the first bytes of this blob, then nothing more. */
  stall?: string;
}

function image(layer: Buffer, served = layer, blob = layer): Served {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [digest(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: `application/vnd.oci.image.layer.v1.tar${blob === layer ? '' : '+gzip'}`, digest: digest(blob), size: blob.length }],
  }));
  return { manifest, blobs: new Map([[digest(config), config], [digest(blob), served]]) };
}

describe('pulling into the content store', () => {
  let server: http.Server;
  let dir: string;
  let store: ImageStore;
  let address: string;
  const repositories = new Map<string, Served>();
  const blobRequests: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-pull-'));
    store = new ImageStore(path.join(dir, 'images'));
    server = http.createServer((req, res) => {
      const match = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '');
      const repo = match ? repositories.get(match[1]) : undefined;
      if (!match || !repo) return void res.writeHead(404).end();
      if (match[2] === 'manifests') return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(repo.manifest);
      blobRequests.push(`${match[1]} ${match[3]}`);
      const blob = repo.blobs.get(match[3]);
      if (!blob) return void res.writeHead(404).end();
      if (repo.stall === match[3]) return void res.writeHead(200, { 'content-length': String(blob.length) }).write(blob.subarray(0, 100));
      if (blob.length < 64 * 1024) return void res.writeHead(200).end(blob);
      // A large blob goes out in pieces with pauses, as over a network: the pull unpacks as they come.
      res.writeHead(200, { 'content-length': String(blob.length) });
      void (async () => {
        for (let at = 0; at < blob.length && !res.destroyed; at += 16 * 1024) {
          res.write(blob.subarray(at, at + 16 * 1024));
          if (at % (256 * 1024) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
        res.end();
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const pull = (repository: string, ref: string, idleTimeoutMs?: number) =>
    pullImage(store, { registry: { address, plainHttp: true, ...(idleTimeoutMs ? { idleTimeoutMs } : {}) }, repository, reference: '1', ref });
  const debris = () => fs.readdirSync(path.join(dir, 'images/tmp')).length;
  /** A refused download's file goes once its stream has closed, just after the rejection. */
  const waitForNoDebris = async () => {
    for (let i = 0; i < 400 && debris() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(debris(), 0, fs.readdirSync(path.join(dir, 'images/tmp')).join(', '));
  };

  it('stores a pulled image under its name, its layer unpacked; a second pull fetches no layer', async () => {
    const layer = tar('hello.txt', 'hello from the registry\n');
    repositories.set('good', image(layer));
    const first = await pull('good', 'good:1');
    assert.equal(first.fetched, 1);
    const resolved = await store.resolve('good:1');
    assert.equal(fs.readFileSync(path.join(resolved.layerDirs[0], 'hello.txt'), 'utf8'), 'hello from the registry\n');
    assert.deepEqual(resolved.config.cmd, ['sh']);
    const before = blobRequests.filter((r) => r.startsWith('good ')).length;
    const second = await pull('good', 'good:2');
    assert.equal(second.fetched, 0);
    assert.equal(blobRequests.filter((r) => r.startsWith('good ')).length, before + 1, 'only the config again');
    assert.equal(debris(), 0);
  });

  it('unpacks a gzip layer of several MiB that arrives in pieces: the blob kept as sent, the files as packed', async () => {
    const content = randomBytes(3 * 1024 * 1024).toString('base64'); // compresses, a little
    const layer = tar('big.txt', content);
    const blob = gzipSync(layer);
    repositories.set('gzip', image(layer, blob, blob));
    const pulled = await pull('gzip', 'gzip:1');
    assert.equal(pulled.fetched, 1);
    const resolved = await store.resolve('gzip:1');
    assert.equal(fs.readFileSync(path.join(resolved.layerDirs[0], 'big.txt'), 'utf8'), content);
    assert.deepEqual(fs.readFileSync(store.blobPath(digest(blob))), blob);
    const record = await store.record('gzip:1');
    assert.deepEqual(record?.layers.map((l) => [l.diffID, l.blob, l.mediaType]), [[digest(layer), digest(blob), 'application/vnd.oci.image.layer.v1.tar+gzip']]);
    assert.equal(debris(), 0);
  });

  it('refuses a corrupted gzip layer that unpacks cleanly (digest mismatch at its last byte): no image, no layer, no blob', async () => {
    const layer = tar('data.txt', 'z'.repeat(200_000));
    const blob = gzipSync(layer);
    const evil = gzipSync(tar('data.txt', 'y'.repeat(200_000)));
    repositories.set('gzip-corrupt', image(layer, evil, blob));
    await assert.rejects(pull('gzip-corrupt', 'gzip-corrupt:1'), (e: Error & { code?: string }) => e.code === 'DigestMismatch');
    assert.equal(store.has('gzip-corrupt:1'), false);
    assert.equal(fs.existsSync(store.layerDir(digest(layer))), false);
    assert.equal(fs.existsSync(store.blobPath(digest(blob))), false);
    await waitForNoDebris();
  });

  it('reports a gzip layer with a flipped byte as a digest mismatch, though its gzip stream breaks first: no image, no blob', async () => {
    const layer = tar('data.txt', randomBytes(3 * 1024 * 1024).toString('hex'));
    const blob = gzipSync(layer);
    const flipped = Buffer.from(blob);
    for (let at = 1000; at < 1100; at++) flipped[at] ^= 0xff; // early: the inflating fails long before the last byte
    repositories.set('gzip-flipped', image(layer, flipped, blob));
    await assert.rejects(pull('gzip-flipped', 'gzip-flipped:1'), (e: Error & { code?: string }) => e.code === 'DigestMismatch' && /expected \d+ bytes with sha256:/.test(e.message));
    assert.equal(store.has('gzip-flipped:1'), false);
    assert.equal(fs.existsSync(store.blobPath(digest(blob))), false);
    await waitForNoDebris();
  });

  it('fails the stream a peer follows when the download it grows from fails', { timeout: 60_000 }, async () => {
    const layer = tar('data.txt', 'x'.repeat(4000));
    const stalled = image(layer);
    stalled.stall = digest(layer); // 100 bytes, then silence
    repositories.set('followed', stalled);
    const failure = pull('followed', 'followed:1', 500).then(() => undefined, (error: Error & { code?: string }) => error);
    const opened = await openBlobForPeer(store, digest(layer), 10_000);
    assert.ok(opened, 'the download is offered to peers while it runs');
    await assert.rejects((async () => {
      for await (const chunk of opened.body) assert.ok(chunk);
    })(), /the download of sha256:[0-9a-f]{64} (failed|started again) on this node/);
    assert.equal((await failure)?.code, 'Timeout');
    await waitForNoDebris();
  });

  it('refuses a corrupted layer (digest mismatch): no image, no layer, no debris', async () => {
    const layer = tar('data.txt', 'the real content\n');
    repositories.set('corrupt', image(layer, tar('data.txt', 'the evil content\n')));
    await assert.rejects(pull('corrupt', 'corrupt:1'), (e: Error & { code?: string }) => e.code === 'DigestMismatch' && /expected \d+ bytes with sha256:/.test(e.message));
    assert.equal(store.has('corrupt:1'), false);
    assert.equal(fs.existsSync(store.layerDir(digest(layer))), false);
    assert.equal(debris(), 0);
  });

  it('refuses a layer whose tar escapes, though its digests are right: no image, nothing written outside', async () => {
    const layer = tar('../escaped.txt', 'out\n');
    repositories.set('escape', image(layer));
    await assert.rejects(pull('escape', 'escape:1'), /"\.\.\/escaped\.txt" refused: path escapes the layer/);
    assert.equal(store.has('escape:1'), false);
    assert.equal(fs.existsSync(path.join(dir, 'images/tmp/escaped.txt')) || fs.existsSync(path.join(dir, 'images/escaped.txt')), false);
    assert.equal(debris(), 0);
  });

  it('refuses a blob longer than its descriptor, a garbage manifest and a registry that stops mid-layer: no image, no debris', async () => {
    const layer = tar('data.txt', 'the real content\n');
    repositories.set('long', image(layer, Buffer.concat([layer, Buffer.alloc(512)])));
    await assert.rejects(pull('long', 'long:1'), (e: Error & { code?: string }) => ['DigestMismatch', 'TooLarge'].includes(e.code ?? '') && /more than|expected/.test(e.message));
    repositories.set('garbage', { manifest: Buffer.from('<html>not a manifest</html>'), blobs: new Map() });
    await assert.rejects(pull('garbage', 'garbage:1'), (e: Error & { code?: string }) => e.code === 'Invalid' && /not JSON/.test(e.message));
    const stalled = image(tar('slow.txt', 'x'.repeat(4000)));
    stalled.stall = [...stalled.blobs.keys()][1];
    repositories.set('stall', stalled);
    await assert.rejects(pull('stall', 'stall:1', 500), (e: Error & { code?: string }) => e.code === 'Timeout' && /stopped sending/.test(e.message));
    for (const ref of ['long:1', 'garbage:1', 'stall:1']) assert.equal(store.has(ref), false, ref);
    await waitForNoDebris();
  });

  it('fetches a layer once when two pulls need it at the same time', async () => {
    const layer = tar('shared.txt', 'one copy\n');
    repositories.set('twin-a', image(layer));
    repositories.set('twin-b', image(layer));
    const layerGets = () => blobRequests.filter((r) => r.endsWith(digest(layer))).length;
    const [a, b] = await Promise.all([pull('twin-a', 'twin-a:1'), pull('twin-b', 'twin-b:1')]);
    assert.equal(layerGets(), 1, 'one download of the shared layer');
    assert.equal(a.fetched + b.fetched, 1);
    assert.ok(store.has('twin-a:1') && store.has('twin-b:1'));
  });
});

