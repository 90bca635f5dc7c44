/**
 * The agent as a blob source for its peers (peer-to-peer layers, swarm.plan.ts). A layer blob is
 * served from the store once there, and while this agent is still downloading it, from the growing
 * file: the child of a node in the layer's tree receives the bytes moments after its parent does.
 * A download that fails cuts the streams it feeds, so the child falls back to the registry; the
 * child verifies the digest of everything it receives in any case.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import type { ImageStore } from '@tide/runtime';

interface Download {
  file: string;
  size: number;
  /** true once complete and verified, false when it failed. */
  done: Promise<boolean>;
  settled?: boolean;
}

/** How long a peer's request for a blob this agent is about to fetch waits for the fetch to start. */
export const PEER_WAIT_MS = 15_000;
const POLL_MS = 10;

/** Downloads under way in this agent, by store and blob digest. */
const downloads = new Map<string, Download>();
const keyOf = (store: ImageStore, digest: string) => `${store.imageDir}\0${digest}`;

/**
 * Makes a download visible to peers; the caller ends the sharing (`unshare`) once the blob is in the
 * store or given up, so that no request falls between the two.
 */
export function shareDownload(store: ImageStore, digest: string, file: string, size: number, download: Promise<unknown>): () => void {
  const key = keyOf(store, digest);
  const entry: Download = { file, size, done: download.then(() => true, () => false) };
  void entry.done.then(() => {
    entry.settled = true;
  });
  downloads.set(key, entry);
  return () => {
    if (downloads.get(key) === entry) downloads.delete(key);
  };
}

/** The blob as a stream of `size` bytes, or undefined when this agent neither has nor fetches it (within PEER_WAIT_MS). */
export async function openBlobForPeer(store: ImageStore, digest: string, waitMs = PEER_WAIT_MS): Promise<{ size: number; body: Readable } | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const stored = await fs.promises.stat(store.blobPath(digest)).catch(() => undefined);
    if (stored?.isFile()) return { size: stored.size, body: fs.createReadStream(store.blobPath(digest)) };
    const download = downloads.get(keyOf(store, digest));
    if (download) return { size: download.size, body: Readable.from(follow(store, digest, download)) };
    if (Date.now() >= deadline) return undefined;
    await sleep(50);
  }
}

/** Reads the download's file as it grows; ends at `size` bytes; fails when the download does. */
async function* follow(store: ImageStore, digest: string, download: Download): AsyncGenerator<Buffer> {
  const handle = await openWhenThere(store, digest, download);
  try {
    const buffer = Buffer.alloc(1 << 20);
    let position = 0;
    while (position < download.size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, download.size - position), position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield Buffer.from(buffer.subarray(0, bytesRead));
      } else if (download.settled && !(await download.done)) {
        throw new Error(`the download of ${digest} failed on this node`);
      } else if (!download.settled && !fs.existsSync(download.file)) {
        throw new Error(`the download of ${digest} started again on this node`); // a peer failed it: the reader goes to the registry
      } else {
        await sleep(POLL_MS);
      }
    }
  } finally {
    await handle.close();
  }
}

/** The download's file once created (an open descriptor survives its rename into the store), else the stored blob. */
async function openWhenThere(store: ImageStore, digest: string, download: Download): Promise<fs.promises.FileHandle> {
  for (;;) {
    try {
      return await fs.promises.open(download.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (download.settled) {
      if (await download.done) return fs.promises.open(store.blobPath(digest), 'r');
      throw new Error(`the download of ${digest} failed on this node`);
    }
    await sleep(POLL_MS);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
