/**
 * The Docker Engine API (a subset of v1.41, docs/REFERENCE.md "Docker clients") over HTTP on a unix
 * socket: routes Docker's paths, with or without the `/v1.NN` prefix, to the container verbs, and
 * answers in Docker's shapes: `{"message": "..."}` errors, 501 naming an endpoint Tide does not serve
 * yet, 404 for a path Docker does not have either.
 */
import * as http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { DockerArchives } from './docker.archive';
import { ContainerVerbs, WaitCondition } from './docker.containers';
import { DockerExecs, ExecCreateBody } from './docker.exec';
import { isTrue, passes, parseFilters } from './docker.filters';
import { DockerBuilds } from './docker.build';
import { DockerImages } from './docker.images';
import { DockerTransfers } from './docker.transfer';
import { DockerError, dockerErrorOf } from './docker.errors';
import type { NetworkCreateBody } from './docker.network.model';
import { inspectEntry, psEntry } from './docker.entries';
import { ContainerStatus, CreateBody } from './docker.model';
import { VolumeCreateBody, mountEntries } from './docker.volume.model';
import { streamEvents } from './docker.events';
import { streamOutput } from './docker.output';
import { DockerAttaches, writeAll } from './docker.attach';
import { STDOUT, frames } from './docker.stream';
import { SystemInfo, UNSUPPORTED, apiVersionOf, MAX_API_VERSION, pingHeaders } from './docker.system';

export interface DockerRequest {
  method: string;
  /** The path without its version prefix. */
  path: string;
  params: URLSearchParams;
  body(): Promise<unknown>;
  /** The body as it arrives (a build's context). */
  stream: Readable;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** The request itself, for a body that is not JSON (an archive). */
  input: http.IncomingMessage;
}

/** A handler's answer: a JSON value (with its status), nothing (204, 304), or a response it wrote itself. */
type Answer = { status: number; json?: unknown } | 'written';
type Handler = (req: DockerRequest, id: string, res: http.ServerResponse) => Promise<Answer>;

export class DockerApi {
  private readonly routes: Array<{ method: string; pattern: RegExp; handler: Handler }>;

  private readonly execs: DockerExecs;

  private readonly attaches: DockerAttaches;

  constructor(readonly verbs: ContainerVerbs, private readonly system: SystemInfo, private readonly now = Date.now) {
    this.execs = new DockerExecs(verbs.containers);
    this.attaches = new DockerAttaches(verbs);
    const archives = new DockerArchives(verbs.containers);
    const images = new DockerImages(verbs.containers.api);
    const transfers = new DockerTransfers(images);
    const builds = new DockerBuilds(images, verbs.containers);
    const written = (work: Promise<void>): Promise<Answer> => work.then(() => 'written');
    const networks = this.verbs.networks;
    const volumes = this.verbs.volumes;
    const c = '/containers/([^/]+)';
    const e = '/exec/([^/]+)';
    this.routes = [
      { method: 'GET', pattern: /^\/_ping$/, handler: async () => ({ status: 200, json: 'OK' }) },
      { method: 'HEAD', pattern: /^\/_ping$/, handler: async () => ({ status: 200 }) },
      { method: 'GET', pattern: /^\/version$/, handler: async () => ({ status: 200, json: await this.system.version() }) },
      { method: 'GET', pattern: /^\/events$/, handler: (req, _id, res) => written(streamEvents(() => this.verbs.containers.list(), req.params, res, req.signal, (id) => this.verbs.followed(id))) },
      { method: 'GET', pattern: /^\/info$/, handler: async () => ({ status: 200, json: await this.system.info(await this.verbs.containers.list()) }) },
      { method: 'GET', pattern: /^\/containers\/json$/, handler: (req) => this.list(req) },
      { method: 'POST', pattern: /^\/containers\/create$/, handler: async (req) => {
        const body = (await req.body() ?? {}) as CreateBody;
        const image = body.Image ? await images.forContainer(body.Image) : undefined;
        return { status: 201, json: await this.verbs.create(req.params.get('name'), { ...body, ...(image ? { Image: image } : {}) }) };
      } },
      { method: 'GET', pattern: new RegExp(`^${c}/json$`), handler: async (_req, id) => {
        const container = await this.verbs.containers.find(id);
        return { status: 200, json: { ...inspectEntry(container), Mounts: mountEntries(container.service) } };
      } },
      { method: 'POST', pattern: new RegExp(`^${c}/start$`), handler: async (_req, id) => ({ status: (await this.verbs.start(id)) ? 204 : 304 }) },
      { method: 'POST', pattern: new RegExp(`^${c}/stop$`), handler: async (_req, id) => ({ status: (await this.verbs.stop(id)) ? 204 : 304 }) },
      { method: 'POST', pattern: new RegExp(`^${c}/restart$`), handler: async (_req, id) => this.verbs.restart(id).then(() => ({ status: 204 })) },
      { method: 'POST', pattern: new RegExp(`^${c}/kill$`), handler: async (req, id) => this.verbs.kill(id, req.params.get('signal')).then(() => ({ status: 204 })) },
      { method: 'POST', pattern: new RegExp(`^${c}/resize$`), handler: async (req, id) => {
        this.attaches.resize(id, await this.verbs.containers.find(id), Number(req.params.get('h') ?? 24), Number(req.params.get('w') ?? 80));
        return { status: 200 };
      } },
      { method: 'POST', pattern: new RegExp(`^${c}/pause$`), handler: async (_req, id) => this.verbs.pause(id).then(() => ({ status: 204 })) },
      { method: 'POST', pattern: new RegExp(`^${c}/unpause$`), handler: async (_req, id) => this.verbs.unpause(id).then(() => ({ status: 204 })) },
      { method: 'DELETE', pattern: new RegExp(`^${c}$`), handler: async (req, id) => this.remove(req, id) },
      { method: 'POST', pattern: new RegExp(`^${c}/wait$`), handler: (req, id, res) => this.wait(req, id, res) },
      { method: 'GET', pattern: new RegExp(`^${c}/logs$`), handler: (req, id, res) => this.logs(req, id, res) },
      { method: 'HEAD', pattern: new RegExp(`^${c}/archive$`), handler: (req, id, res) => archives.read(id, req.params, res, false, req.signal).then(() => 'written' as const) },
      { method: 'GET', pattern: new RegExp(`^${c}/archive$`), handler: (req, id, res) => archives.read(id, req.params, res, true, req.signal).then(() => 'written' as const) },
      { method: 'PUT', pattern: new RegExp(`^${c}/archive$`), handler: (req, id) => archives.write(id, req.params, req.input).then(() => ({ status: 200 })) },
      { method: 'POST', pattern: new RegExp(`^${c}/exec$`), handler: async (req, id) => ({ status: 201, json: await this.execs.create(id, (await req.body() ?? {}) as ExecCreateBody) }) },
      { method: 'GET', pattern: new RegExp(`^${e}/json$`), handler: async (_req, id) => ({ status: 200, json: this.execs.inspect(id) }) },
      { method: 'POST', pattern: new RegExp(`^${e}/resize$`), handler: async (req, id) => {
        this.execs.resize(id, Number(req.params.get('h') ?? 24), Number(req.params.get('w') ?? 80));
        return { status: 200 };
      } },
      { method: 'GET', pattern: /^\/images\/json$/, handler: async (req) => ({ status: 200, json: await images.list(req.params.get('filters')) }) },
      { method: 'POST', pattern: /^\/images\/create$/, handler: (req, _id, res) => written(transfers.pull(req.params, res)) },
      { method: 'GET', pattern: /^\/images\/(.+)\/history$/, handler: async (_req, name) => ({ status: 200, json: await images.history(name) }) },
      { method: 'GET', pattern: /^\/images\/(.+)\/json$/, handler: async (_req, name) => ({ status: 200, json: await images.inspect(name) }) },
      { method: 'POST', pattern: /^\/images\/(.+)\/tag$/, handler: async (req, name) => images.tag(name, req.params.get('repo'), req.params.get('tag')).then(() => ({ status: 201 })) },
      { method: 'POST', pattern: /^\/images\/(.+)\/push$/, handler: (req, name, res) => written(transfers.push(name, req.params, res)) },
      { method: 'DELETE', pattern: /^\/images\/(.+)$/, handler: async (req, name) => ({ status: 200, json: await images.remove(name, isTrue(req.params.get('force'))) }) },
      { method: 'POST', pattern: /^\/build$/, handler: (req, _id, res) => written(builds.build(req.params, req.stream, res)) },
      { method: 'GET', pattern: /^\/networks$/, handler: async (req) => ({ status: 200, json: await networks.list(req.params.get('filters')) }) },
      { method: 'POST', pattern: /^\/networks\/create$/, handler: async (req) => ({ status: 201, json: await networks.create((await req.body() ?? {}) as NetworkCreateBody) }) },
      { method: 'GET', pattern: /^\/networks\/([^/]+)$/, handler: async (_req, id) => ({ status: 200, json: await networks.inspect(id) }) },
      { method: 'DELETE', pattern: /^\/networks\/([^/]+)$/, handler: async (_req, id) => networks.remove(id).then(() => ({ status: 204 })) },
      { method: 'POST', pattern: /^\/networks\/([^/]+)\/connect$/, handler: async (req, id) => networks.connect(id, containerOf(await req.body())) },
      { method: 'POST', pattern: /^\/networks\/([^/]+)\/disconnect$/, handler: async (req, id) => networks.disconnect(id, containerOf(await req.body())) },
      { method: 'GET', pattern: /^\/volumes$/, handler: async (req) => ({ status: 200, json: await volumes.list(req.params.get('filters')) }) },
      { method: 'POST', pattern: /^\/volumes\/create$/, handler: async (req) => ({ status: 201, json: await volumes.create((await req.body() ?? {}) as VolumeCreateBody) }) },
      { method: 'GET', pattern: /^\/volumes\/([^/]+)$/, handler: async (_req, name) => ({ status: 200, json: await volumes.inspect(name) }) },
      { method: 'DELETE', pattern: /^\/volumes\/([^/]+)$/, handler: async (req, name) => volumes.remove(name, isTrue(req.params.get('force'))).then(() => ({ status: 204 })) },
      { method: 'POST', pattern: /^\/commit$/, handler: async (req) => ({ status: 201, json: await builds.commit(req.params) }) },
      { method: 'POST', pattern: new RegExp(`^${e}/start$`), handler: async (req, id) => {
        const body = (await req.body() ?? {}) as { Detach?: boolean };
        if (!body.Detach) throw new DockerError(400, 'an attached exec start needs an upgraded connection (Connection: Upgrade, Upgrade: tcp), as the docker CLI sends');
        await this.execs.startDetached(id);
        return { status: 200 };
      } },
    ];
  }

  /** The node http server's request handler. */
  handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = this.parse(req, res);
    const answer = started instanceof DockerError ? Promise.reject(started) : this.dispatch(started, res);
    answer.then((a) => (a === 'written' ? undefined : send(res, a.status, a.json)), (error: unknown) => sendError(res, dockerErrorOf(error)));
  };

  /**
   * `Upgrade: tcp` requests: `POST /containers/{id}/attach` (the output as a raw stream on the hijacked
   * socket) and `POST /exec/{id}/start` (the exec's streams both ways).
   */
  handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const aborted = new AbortController();
    socket.on('close', () => aborted.abort());
    socket.on('error', () => aborted.abort());
    const url = new URL(req.url ?? '/', 'http://docker');
    const versioned = apiVersionOf(url.pathname);
    const execId = versioned instanceof DockerError ? undefined : /^\/exec\/([^/]+)\/start$/.exec(versioned.path)?.[1];
    const session = execId !== undefined && req.method === 'POST'
      ? afterBody(req, socket, head).then((rest) => this.execs.start(decodeURIComponent(execId), socket, rest))
      : this.attach(req, socket, aborted.signal);
    session.catch((error: unknown) => {
      const e = dockerErrorOf(error);
      if (!socket.writable) return;
      const body = JSON.stringify({ message: e.message });
      socket.end(`HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  };

  private parse(req: http.IncomingMessage, res: http.ServerResponse): DockerRequest | DockerError {
    const url = new URL(req.url ?? '/', 'http://docker');
    const versioned = apiVersionOf(url.pathname);
    if (versioned instanceof DockerError) return versioned;
    const aborted = new AbortController();
    res.on('close', () => aborted.abort());
    return { method: req.method ?? 'GET', path: versioned.path, params: url.searchParams, body: () => readJson(req), stream: req, signal: aborted.signal, input: req };
  }

  private async dispatch(req: DockerRequest, res: http.ServerResponse): Promise<Answer> {
    for (const route of this.routes) {
      const match = route.pattern.exec(req.path);
      if (match && route.method === req.method) return route.handler(req, decodeURIComponent(match[1] ?? ''), res);
    }
    const unsupported = UNSUPPORTED.find((u) => u.pattern.test(req.path));
    if (unsupported) throw new DockerError(501, `Tide's Docker API does not support ${unsupported.what} (${req.method} ${req.path}) yet; see "Docker clients" in docs/REFERENCE.md for what it serves`);
    if (this.routes.some((r) => r.pattern.test(req.path))) throw new DockerError(405, `${req.method} ${req.path}: method not allowed`);
    throw new DockerError(404, `page not found: ${req.method} ${req.path} is not part of the Docker Engine API v${MAX_API_VERSION}`);
  }

  private async list(req: DockerRequest): Promise<Answer> {
    const filters = parseFilters(req.params.get('filters'));
    // A status filter widens the list as `all` does (docker ps --filter status=exited).
    const all = isTrue(req.params.get('all')) || filters.has('status');
    const entries = (await this.verbs.containers.list())
      .map((c) => ({ ...psEntry(c, this.now()), Mounts: mountEntries(c.service) }))
      .filter((e) => (all || isUp(e.State)) && passes(e, filters))
      .sort((a, b) => b.Created - a.Created);
    const limit = Number(req.params.get('limit') ?? -1);
    return { status: 200, json: limit > 0 ? entries.slice(0, limit) : entries };
  }

  private async remove(req: DockerRequest, id: string): Promise<Answer> {
    // -v removes the container's anonymous volumes, which are emptyDirs here: they go with its replica.
    if (isTrue(req.params.get('link'))) throw new DockerError(501, "Tide's Docker API does not support links yet");
    await this.verbs.remove(id, isTrue(req.params.get('force')));
    return { status: 204 };
  }

  /** dockerd sends the headers at once (the client knows the wait is registered), the body when the condition holds. */
  private async wait(req: DockerRequest, id: string, res: http.ServerResponse): Promise<Answer> {
    const condition = (req.params.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new DockerError(400, `condition: "${condition}" is not one of not-running, next-exit, removed`);
    const container = await this.verbs.containers.find(id);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const result = await this.verbs.follow(container.id, this.verbs.wait(id, condition, req.signal)).then(
      (code) => ({ StatusCode: code, Error: null }),
      (error: unknown) => ({ StatusCode: -1, Error: { Message: dockerErrorOf(error).message } }),
    );
    res.end(`${JSON.stringify(result)}\n`);
    return 'written';
  }

  private async logs(req: DockerRequest, id: string, res: http.ServerResponse): Promise<Answer> {
    const p = req.params;
    if (!isTrue(p.get('stdout')) && !isTrue(p.get('stderr'))) throw new DockerError(400, 'Bad parameters: you must choose at least one stream');
    if (isTrue(p.get('timestamps'))) throw new DockerError(501, "Tide's Docker API does not support log timestamps (-t) yet: Tide's logs keep no time per line");
    const tail = p.get('tail');
    const since = Number(p.get('since') ?? 0);
    const container = await this.verbs.containers.find(id);
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    const write = (chunk: Uint8Array) => writeAll(res, frames(STDOUT, chunk));
    await this.verbs.track(container, streamOutput(this.verbs.containers, container, {
      follow: isTrue(p.get('follow')),
      ...(tail && tail !== 'all' ? { tailLines: Number(tail) } : {}),
      ...(since > 0 ? { sinceTime: new Date(since * 1000).toISOString() } : {}),
      waitForStart: false,
    }, write, req.signal)).catch(() => undefined); // once streaming, a failure can only end the stream
    res.end();
    return 'written';
  }

  private async attach(req: http.IncomingMessage, socket: Duplex, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://docker');
    const versioned = apiVersionOf(url.pathname);
    if (versioned instanceof DockerError) throw versioned;
    const id = /^\/containers\/([^/]+)\/attach$/.exec(versioned.path)?.[1];
    if (!id || req.method !== 'POST') throw new DockerError(404, `page not found: only POST /containers/{id}/attach takes an upgrade, not ${req.method} ${versioned.path}`);
    const container = await this.verbs.containers.find(decodeURIComponent(id));
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await this.attaches.attach(container, url.searchParams, { connection: socket, framed: true }, signal);
    socket.end();
  }
}

/** The container a network connect or disconnect names. */
function containerOf(body: unknown): string {
  const container = (body as { Container?: unknown } | undefined)?.Container;
  if (typeof container !== 'string' || !container) throw new DockerError(400, 'Container: required (the container to connect or disconnect)');
  return container;
}

/** What `docker ps` lists without -a: running containers, paused ones too (as dockerd does). */
export function isUp(state: ContainerStatus): boolean {
  return state === 'running' || state === 'paused';
}

function send(res: http.ServerResponse, status: number, json: unknown): void {
  res.writeHead(status, { ...pingHeaders(), ...(json === undefined ? {} : { 'Content-Type': json === 'OK' ? 'text/plain; charset=utf-8' : 'application/json' }) });
  res.end(json === undefined ? undefined : json === 'OK' ? 'OK' : `${JSON.stringify(json)}\n`);
}

function sendError(res: http.ServerResponse, error: DockerError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, error.status, { message: error.message });
}

/** What follows the request's body on a hijacked connection (Node hands the body over with the upgrade). */
async function afterBody(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<Buffer> {
  let skip = Number(req.headers['content-length'] ?? 0);
  let rest = head;
  while (rest.length < skip) {
    skip -= rest.length;
    rest = await new Promise<Buffer>((resolve, reject) => {
      // Paused again at once: what follows is the process's stdin, read by the exec session.
      socket.once('data', (data: Buffer) => {
        socket.pause();
        resolve(data);
      });
      socket.once('close', () => reject(new DockerError(400, 'the connection closed within the request body')));
    });
  }
  return rest.subarray(skip);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DockerError(400, `the request body is not JSON: ${(error as Error).message}`);
  }
}
