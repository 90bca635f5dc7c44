/**
 * Serving a blob to peers while it downloads: the reader follows the growing file to the announced
 * size, reads on through the file's rename into the store, fails when the download fails, and a blob
 * neither stored nor downloading is not found once the wait is over.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageStore } from '@tide/runtime';
import { openBlobForPeer, shareDownload } from './peer.blobs';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('blobs for peers', () => {
  let dir: string;
  let store: ImageStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-peer-blobs-'));
    store = new ImageStore(path.join(dir, 'images'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams a download as it grows, through its rename into the store', async () => {
    const file = path.join(dir, 'growing');
    let finish!: () => void;
    const download = new Promise<void>((resolve) => (finish = resolve));
    const unshare = shareDownload(store, DIGEST, file, 8, download);
    const opened = await openBlobForPeer(store, DIGEST, 1000);
    assert.equal(opened?.size, 8);
    const read = readAll(opened!.body);
    fs.writeFileSync(file, 'abcd');
    await new Promise((resolve) => setTimeout(resolve, 50));
    fs.appendFileSync(file, 'efgh');
    finish();
    await new Promise((resolve) => setTimeout(resolve, 20));
    fs.mkdirSync(path.dirname(store.blobPath(DIGEST)), { recursive: true });
    fs.renameSync(file, store.blobPath(DIGEST));
    unshare();
    assert.equal((await read).toString(), 'abcdefgh');
    assert.equal((await readAll((await openBlobForPeer(store, DIGEST, 0))!.body)).toString(), 'abcdefgh', 'then from the store');
    fs.rmSync(store.blobPath(DIGEST));
  });

  it('fails the stream when the download fails, and finds nothing once the wait is over', async () => {
    const file = path.join(dir, 'failing');
    let fail!: (error: Error) => void;
    const download = new Promise<void>((_resolve, reject) => (fail = reject));
    const unshare = shareDownload(store, DIGEST, file, 8, download);
    const opened = await openBlobForPeer(store, DIGEST, 1000);
    fs.writeFileSync(file, 'abc');
    const read = readAll(opened!.body);
    fail(new Error('digest mismatch'));
    await assert.rejects(read, /the download of sha256:abab.* failed on this node/);
    unshare();
    assert.equal(await openBlobForPeer(store, DIGEST, 100), undefined);
  });
});
