/**
 * Blobs in and out: a download hashes every chunk as it arrives and refuses a blob longer than its
 * descriptor (or the cap) at the first byte too many, so a wrong or endless answer never fills the
 * disk; an upload goes in one PUT (monolithic) or in PATCHes of `chunkSize` bytes, as the spec allows.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import type { SendOptions } from './auth.session';
import { RegistryError } from './errors';
import { abandon, discard, header, networkError, type HttpResponse } from './http';
import type { Descriptor } from './manifest';

/** What a transfer asks of the registry's client (a RegistryClient): its requests, and its limits for the messages. */
export interface BlobEndpoint {
  readonly base: string;
  readonly options: { registry: string };
  readonly limits: { idleTimeoutMs: number; maxBlobBytes: number };
  openBlob(repository: string, digest: string, what: string): Promise<HttpResponse>;
  blobSize(repository: string, digest: string): Promise<number | undefined>;
  send(options: SendOptions): Promise<HttpResponse>;
  expect(response: HttpResponse, ok: number[], what: string): Promise<void>;
}

export interface UploadOptions {
  /** Send the blob in PATCH requests of this many bytes; default: one monolithic PUT. */
  chunkSize?: number;
}

type Blob = Pick<Descriptor, 'digest' | 'size'>;

/**
 * A blob's bytes as they arrive: refused at the first byte past the descriptor's size, and at the end
 * unless size and digest match, so that whoever consumes it (a file, a layer unpacked on the fly)
 * learns of a wrong blob before it is kept. Stopping early closes the connection.
 */
export async function* blobChunks(client: BlobEndpoint, repository: string, blob: Blob): AsyncGenerator<Buffer> {
  const what = `fetching blob ${blob.digest} of ${repository} from ${client.options.registry}`;
  const max = client.limits.maxBlobBytes;
  if (blob.size > max) throw new RegistryError('TooLarge', `${what}: ${blob.size} bytes is over the limit of ${max}`);
  const response = await client.openBlob(repository, blob.digest, what);
  const hash = createHash('sha256');
  let received = 0;
  let complete = false;
  try {
    for await (const chunk of response.body) {
      const bytes = chunk as Buffer;
      received += bytes.length;
      if (received > blob.size) throw new RegistryError('DigestMismatch', `${what}: the registry sent more than the ${blob.size} bytes the manifest gives`);
      hash.update(bytes);
      yield bytes;
    }
    complete = true;
  } catch (error) {
    throw error instanceof RegistryError ? error : networkError(error, client.base, what, client.limits.idleTimeoutMs);
  } finally {
    if (!complete) abandon(response);
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (received !== blob.size || digest !== blob.digest) {
    throw new RegistryError('DigestMismatch', `${what}: received ${received} bytes with digest ${digest}, expected ${blob.size} bytes with ${blob.digest}`);
  }
}

export async function downloadBlob(client: BlobEndpoint, repository: string, blob: Blob, file: string): Promise<void> {
  const out = fs.createWriteStream(file, { mode: 0o644 });
  out.on('error', () => undefined); // seen by the writes (a rejected drain or end); a destroyed stream's late ones are moot
  try {
    for await (const bytes of blobChunks(client, repository, blob)) {
      // events.once removes its 'error' listener with the 'drain' one (a listener per wait piled up before).
      if (out.errored) throw out.errored;
      if (!out.write(bytes)) await once(out, 'drain');
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  } catch (error) {
    // The file is opened asynchronously: wait until the stream has closed, or an open finishing late
    // would bring the file back after it is removed.
    const closed = out.closed ? Promise.resolve() : new Promise<void>((resolve) => out.once('close', () => resolve()));
    out.destroy();
    await closed;
    await fs.promises.rm(file, { force: true });
    throw error;
  }
}

export async function uploadBlob(client: BlobEndpoint, repository: string, blob: Blob, file: string, options: UploadOptions): Promise<boolean> {
  if ((await client.blobSize(repository, blob.digest)) !== undefined) return false;
  const what = `pushing blob ${blob.digest} to ${client.options.registry}/${repository}`;
  const scope = { repository, actions: ['pull', 'push'] as ('pull' | 'push')[] };
  const started = await client.send({ method: 'POST', path: `/v2/${repository}/blobs/uploads/`, headers: { 'content-length': '0' }, scope, what, deadlineMs: client.limits.idleTimeoutMs });
  await client.expect(started, [202], what);
  await discard(started);
  let location = uploadLocation(client, started, what);
  const chunk = options.chunkSize && options.chunkSize > 0 && options.chunkSize < blob.size ? options.chunkSize : undefined;
  if (chunk) {
    for (let start = 0; start < blob.size; start += chunk) {
      const end = Math.min(blob.size, start + chunk) - 1;
      const response = await client.send({
        method: 'PATCH', path: location, scope, what: `${what} (bytes ${start}-${end})`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `${start}-${end}` },
        body: () => fs.createReadStream(file, { start, end }),
      });
      await client.expect(response, [202], `${what} (bytes ${start}-${end})`);
      await discard(response);
      location = uploadLocation(client, response, what);
    }
  }
  const url = new URL(location, client.base);
  url.searchParams.set('digest', blob.digest);
  const size = chunk ? 0 : blob.size;
  const done = await client.send({
    method: 'PUT', path: url.toString(), scope, what,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
    ...(chunk ? {} : { body: () => fs.createReadStream(file) }),
  });
  await client.expect(done, [201], what);
  await discard(done);
  const stored = header(done, 'docker-content-digest');
  if (stored && stored !== blob.digest) throw new RegistryError('DigestMismatch', `${what}: the registry stored ${stored}`);
  return true;
}

function uploadLocation(client: BlobEndpoint, response: HttpResponse, what: string): string {
  const location = header(response, 'location');
  if (!location) throw new RegistryError('Invalid', `${what}: the registry gave no upload Location`);
  return new URL(location, client.base).toString();
}
