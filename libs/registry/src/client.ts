/**
 * A client of the OCI distribution API (v2) for one registry: manifests and indexes (OCI and Docker
 * schema 2, the platform picked from an index), blobs downloaded with their digest verified while they
 * stream and pushed monolithically or in chunks, with the registry's token or Basic auth, size caps on
 * everything read, and deadlines on everything waited for.
 */
import { createHash } from 'node:crypto';
import { AuthSession, type RegistryCredentials, type SendOptions } from './auth.session';
import { blobChunks, downloadBlob, uploadBlob, type UploadOptions } from './blob.transfer';
import { RegistryError, registryErrorText } from './errors';
import { Transport, discard, header, readBody, type HttpRequest, type HttpResponse } from './http';
import { MANIFEST_ACCEPT, parseManifest, platformName, selectPlatform, type Descriptor, type ManifestDocument, type Platform } from './manifest';
import { DIGEST } from './reference';

export interface RegistryClientOptions {
  /** `host[:port]` of the registry. */
  registry: string;
  /** PEM of the CA to trust instead of the system's roots (Tide's cluster CA). */
  ca?: string | Buffer;
  /** Speak plain HTTP (a registry on loopback in tests); default HTTPS. */
  plainHttp?: boolean;
  credentials?: RegistryCredentials;
  /** Presented on TLS connections: a Tide node's certificate gets it pull tokens from the cluster's token service without other credentials. */
  clientCertificate?: { cert: string; key: string };
  /** Longest wait for an answer's head and longest pause inside a body (default 30 s). */
  idleTimeoutMs?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest manifest or index read (default 4 MiB, as containerd's limit). */
  maxManifestBytes?: number;
  /** Largest image config read into memory (default 8 MiB). */
  maxConfigBytes?: number;
  /** Largest blob downloaded (default 8 GiB). */
  maxBlobBytes?: number;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  document: ManifestDocument;
}

/** An image manifest resolved for one platform (through its index when the reference named one). */
export interface ResolvedImage extends FetchedManifest {
  document: Extract<ManifestDocument, { kind: 'manifest' }>;
  /** The index it was picked from, when there was one. */
  index?: FetchedManifest;
}

export const DEFAULTS = {
  idleTimeoutMs: 30_000, connectTimeoutMs: 10_000,
  maxManifestBytes: 4 * 1024 * 1024, maxConfigBytes: 8 * 1024 * 1024, maxBlobBytes: 8 * 1024 * 1024 * 1024,
} as const;

export class RegistryClient {
  readonly base: string;
  readonly limits: { idleTimeoutMs: number; maxManifestBytes: number; maxConfigBytes: number; maxBlobBytes: number };
  private readonly transport: Transport;
  private readonly auth: AuthSession;

  constructor(readonly options: RegistryClientOptions) {
    this.base = `${options.plainHttp ? 'http' : 'https'}://${options.registry}`;
    this.limits = {
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs, maxManifestBytes: options.maxManifestBytes ?? DEFAULTS.maxManifestBytes,
      maxConfigBytes: options.maxConfigBytes ?? DEFAULTS.maxConfigBytes, maxBlobBytes: options.maxBlobBytes ?? DEFAULTS.maxBlobBytes,
    };
    this.transport = new Transport({ ca: options.ca, ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}), connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, idleTimeoutMs: this.limits.idleTimeoutMs });
    this.auth = new AuthSession(this.transport, options.registry, options.credentials, this.limits.idleTimeoutMs);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /** `GET /v2/`: whether the registry answers and the credentials work (a token for no scope). */
  async ping(): Promise<void> {
    const response = await this.send({ method: 'GET', path: '/v2/', what: `checking ${this.options.registry}`, deadlineMs: this.limits.idleTimeoutMs });
    await this.expect(response, [200], `checking ${this.options.registry}`);
    await discard(response);
  }

  /** One manifest or index by tag or digest, its bytes hashed and checked against what was asked for. */
  async manifest(repository: string, reference: string): Promise<FetchedManifest> {
    const what = `the manifest ${repository}:${reference} from ${this.options.registry}`;
    const response = await this.send({
      method: 'GET', path: `/v2/${repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT },
      scope: { repository, actions: ['pull'] }, what: `fetching ${what}`, deadlineMs: this.limits.idleTimeoutMs * 2,
    });
    await this.expect(response, [200], `fetching ${what}`);
    const bytes = await readBody(response, this.limits.maxManifestBytes, `fetching ${what}`, this.base, this.limits.idleTimeoutMs);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (DIGEST.test(reference) && digest !== reference) throw new RegistryError('DigestMismatch', `${what}: the registry sent content whose digest is ${digest}`);
    const announced = header(response, 'docker-content-digest');
    if (announced && announced.startsWith('sha256:') && announced !== digest) {
      throw new RegistryError('DigestMismatch', `${what}: the registry announced ${announced} but sent content whose digest is ${digest}`);
    }
    const document = parseManifest(bytes, header(response, 'content-type'), what);
    return { digest, mediaType: document.mediaType, bytes, document };
  }

  /** The image manifest for `platform`: the manifest itself, or the one the index lists for the platform. */
  async resolveImage(repository: string, reference: string, platform: Platform): Promise<ResolvedImage> {
    const top = await this.manifest(repository, reference);
    if (top.document.kind === 'manifest') return top as ResolvedImage;
    const entry = selectPlatform(top.document.manifests, platform);
    if (!entry) {
      const offered = top.document.manifests.map((m) => platformName(m.platform)).join(', ') || 'none';
      throw new RegistryError('NotFound', `${repository}:${reference} has no image for ${platformName(platform)} (the index offers ${offered})`);
    }
    const child = await this.manifest(repository, entry.digest);
    if (child.document.kind !== 'manifest') throw new RegistryError('Invalid', `${repository}@${entry.digest}: an index inside an index is not supported`);
    return { ...(child as ResolvedImage), index: top };
  }

  /** A small blob (an image config) read into memory, size and digest checked. */
  async blob(repository: string, descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    const max = Math.min(this.limits.maxConfigBytes, this.limits.maxBlobBytes);
    if (descriptor.size > max) throw new RegistryError('TooLarge', `blob ${descriptor.digest} of ${repository}: ${descriptor.size} bytes is over the limit of ${max}`);
    const what = `fetching blob ${descriptor.digest} of ${repository}`;
    const response = await this.openBlob(repository, descriptor.digest, what);
    const bytes = await readBody(response, max, what, this.base, this.limits.idleTimeoutMs);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest !== descriptor.digest || bytes.length !== descriptor.size) {
      throw new RegistryError('DigestMismatch', `${what}: received ${bytes.length} bytes with digest ${digest}, expected ${descriptor.size} bytes with ${descriptor.digest}`);
    }
    return bytes;
  }

  /** Streams a blob into `file`, hashing as it goes; on any failure the file is removed. */
  async downloadBlob(repository: string, descriptor: Pick<Descriptor, 'digest' | 'size'>, file: string): Promise<void> {
    await downloadBlob(this, repository, descriptor, file);
  }

  /** A blob's bytes as they arrive, size and digest checked (the end of the iteration throws when they are wrong). */
  blobChunks(repository: string, descriptor: Pick<Descriptor, 'digest' | 'size'>): AsyncGenerator<Buffer> {
    return blobChunks(this, repository, descriptor);
  }

  /** `GET` of a blob, following the registry's redirect to its storage; the response is 200 and unread. */
  async openBlob(repository: string, digest: string, what: string): Promise<HttpResponse> {
    let response = await this.send({ method: 'GET', path: `/v2/${repository}/blobs/${digest}`, scope: { repository, actions: ['pull'] }, what });
    for (let hops = 0; hops < 3 && [301, 302, 303, 307, 308].includes(response.statusCode); hops++) {
      const location = header(response, 'location');
      await discard(response);
      if (!location) throw new RegistryError('Invalid', `${what}: a redirect without a Location`);
      // Storage behind a redirect carries its own signature in the URL: no registry credentials go there.
      response = await this.transport.send({ method: 'GET', url: new URL(location, this.base).toString(), what });
    }
    await this.expect(response, [200], what);
    return response;
  }

  /** The size of a blob the registry has, or undefined. */
  async blobSize(repository: string, digest: string): Promise<number | undefined> {
    const what = `checking blob ${digest} of ${repository}`;
    const response = await this.send({ method: 'HEAD', path: `/v2/${repository}/blobs/${digest}`, scope: { repository, actions: ['pull'] }, what, deadlineMs: this.limits.idleTimeoutMs });
    await discard(response);
    if (response.statusCode === 404) return undefined;
    await this.expect(response, [200, 307], what);
    return Number(header(response, 'content-length') ?? 0);
  }

  /** Pushes a blob from a file unless the registry has it; false when it was already there. */
  async uploadBlob(repository: string, descriptor: Pick<Descriptor, 'digest' | 'size'>, file: string, options: UploadOptions = {}): Promise<boolean> {
    return uploadBlob(this, repository, descriptor, file, options);
  }

  /** Puts a manifest or index under a tag (or its digest); returns its digest. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const what = `pushing the manifest ${repository}:${reference} to ${this.options.registry}`;
    const response = await this.send({
      method: 'PUT', path: `/v2/${repository}/manifests/${reference}`, headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: bytes, scope: { repository, actions: ['pull', 'push'] }, what, deadlineMs: this.limits.idleTimeoutMs * 2,
    });
    await this.expect(response, [201, 200], what);
    await discard(response);
    const stored = header(response, 'docker-content-digest');
    if (stored && stored !== digest) throw new RegistryError('DigestMismatch', `${what}: the registry stored ${stored}, the manifest is ${digest}`);
    return digest;
  }

  /** A request with the credentials for `scope`; a 401 is answered (token, Basic) and the request sent once more. */
  async send(options: SendOptions): Promise<HttpResponse> {
    const url = /^https?:/.test(options.path) ? options.path : this.base + options.path;
    const make = (): HttpRequest => {
      const auth = this.auth.header(options.scope);
      const body = typeof options.body === 'function' ? options.body() : options.body;
      const { method, what, deadlineMs } = options;
      return { method, what, url, headers: { ...options.headers, ...(auth ? { authorization: auth } : {}) }, ...(body ? { body } : {}), ...(deadlineMs ? { deadlineMs } : {}) };
    };
    const first = await this.transport.send(make());
    if (first.statusCode !== 401) return first;
    await discard(first);
    this.auth.forget(options.scope);
    await this.auth.answer(header(first, 'www-authenticate'), options.scope, options.what);
    return this.transport.send(make());
  }

  /** Turns a status outside `ok` into a RegistryError with the registry's own message; the body is consumed then. */
  async expect(response: HttpResponse, ok: number[], what: string): Promise<void> {
    if (ok.includes(response.statusCode)) return;
    const body = await readBody(response, 64 * 1024, what, this.base, this.limits.idleTimeoutMs).catch(() => Buffer.alloc(0));
    const text = registryErrorText(body.toString('utf8')) ?? (body.length && /^[\x20-\x7e\s]*$/.test(body.toString('latin1')) ? body.toString('utf8').slice(0, 200).trim() : '');
    const status = response.statusCode;
    const code = status === 401 ? 'Unauthorized' : status === 403 ? 'Denied' : status === 404 ? 'NotFound' : status === 413 ? 'TooLarge' : status >= 400 && status < 500 ? 'Invalid' : 'Failed';
    throw new RegistryError(code, `${what}: ${this.options.registry} answered ${status}${text ? `: ${text}` : ''}`, status);
  }
}
