/**
 * The agent's HTTPS endpoint (contract, docs/REFERENCE.md): GET /healthz, GET /metrics,
 * GET /v1/logs/NAMESPACE/NAME[?follow=1&tailLines=N&sinceTime=T&previous=1] (log.routes.ts), the image endpoints (image.routes.ts) and the exec
 * upgrade (exec.upgrade.ts), the attach upgrade and POST /v1/signal/NAMESPACE/NAME (attach.routes.ts),
 * GET|HEAD|PUT /v1/archive/NAMESPACE/NAME (archive.routes.ts), POST /v1/warm (warm.routes.ts),
 * DELETE /v1/local-volumes/NAMESPACE/NAME (volume.routes.ts). Every request but /healthz is authenticated and authorized first
 * (agent.auth.ts): exec, logs and images only for the control plane's client certificate.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Duplex } from 'node:stream';
import { Registry } from 'prom-client';
import { ImageService, ImageStore } from '@tide/runtime';
import { AgentAuth, WWW_AUTHENTICATE, endpointOf } from './agent.auth';
import { AgentTls, HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, agentServerOptions } from './agent.tls';
import { ExecStarter, handleExecUpgrade } from './exec.upgrade';
import { isTrue, refuseUpgrade, sendJson, sendText } from './http.responses';

export { isTrue };
import { ImageRoutesOptions, handleImageRequest } from './image.routes';
import { ImageLifecycleOptions, handleImageLifecycle } from './image.lifecycle.routes';
import { Peering, REGISTRY_ROUTES, handleRegistryRequest } from './registry.routes';
import { handlePeerRequest } from './peer.routes';
import { ReplicaLog, parseLogQuery, serveReplicaLog } from './log.routes';
import { WARM_PATH, WarmAhead, handleWarmRequest } from './warm.routes';
import { ARCHIVE_PATH, RootOpener, handleArchiveRequest } from './archive.routes';
import { ATTACH_PATH, MainProcess, SIGNAL_PATH, handleAttachUpgrade, handleSignal } from './attach.routes';
import { LOCAL_VOLUME_PATH, LocalVolumeRemover, handleLocalVolumeRequest } from './volume.routes';

export interface AgentHttpOptions extends ImageLifecycleOptions, Pick<ImageRoutesOptions, 'buildPull'> {
  address: string;
  port: number;
  registry: Registry;
  /** The replica's log file (or its files, log.routes.ts), or undefined when this node has no such replica. */
  logPath(namespace: string, name: string): string | ReplicaLog | undefined;
  /** Whether the agent is healthy; the text says why not. */
  health(): { ok: boolean; text: string };
  logPollMs?: number;
  images: ImageService;
  /** The content store, for pulls from and pushes to a registry (registry.routes.ts). */
  imageStore?: ImageStore;
  /** This node towards its peers (peer-to-peer layers); none: pulls ignore their peers. */
  peering?: Peering;
  exec: ExecStarter;
  /** A replica's main process: attach and signals (attach.routes.ts); none: 501. */
  main?: MainProcess;
  /** A running replica's root file system, for copies in and out (archive.routes.ts); none: 501. */
  files?: RootOpener;
  /** Named local volumes, for their deletion (volume.routes.ts); none: 501. */
  localVolumes?: LocalVolumeRemover;
  /** Uploaded archives and build contexts, each removed when its request ends. */
  scratchDir: string;
  /** Drops the cached cgroup and /proc readings, for `GET /metrics?fresh=1`. */
  expireSamples?(): void;
  /** Boots container inits ahead of an expected burst (`POST /v1/warm`, warm.routes.ts); none: 501. */
  warm?: WarmAhead;
  /** The serving certificate and the CA of client certificates. */
  tls: AgentTls;
  auth: AgentAuth;
}

export interface AgentHttpServer {
  server: https.Server;
  port: number;
  /** Ends log followers and exec sessions (their processes are killed), then stops listening. */
  close(): Promise<void>;
}

const LOGS_PATH = /^\/v1\/logs\/([^/]+)\/([^/]+)$/;

export function startAgentHttp(options: AgentHttpOptions): Promise<AgentHttpServer> {
  const server = https.createServer(agentServerOptions(options.tls), (req, res) => {
    handle(options, req, res).catch((error: Error) => {
      if (!res.headersSent) sendText(res, 500, `${error.message}\n`);
      else res.destroy();
    });
  });
  // Upgraded sockets leave the server's bookkeeping: closeAllConnections() does not see them.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    options.auth.admit(req, 'exec').then((admission) => {
      if (!admission.ok) return refuseUpgrade(socket, admission.refusal.status, admission.refusal.reason);
      const attach = ATTACH_PATH.exec(new URL(req.url ?? '/', 'https://agent').pathname);
      if (attach) return options.main ? handleAttachUpgrade(options.main, req, socket, head, attach) : refuseUpgrade(socket, 501, 'this agent does not attach to processes');
      return handleExecUpgrade(options.exec, req, socket, head);
    }).catch(() => socket.destroy());
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  const close = async () => {
    for (const socket of upgraded) socket.destroy();
    server.closeAllConnections(); // followers of logs would hold close() open
    await new Promise((resolve) => server.close(resolve));
  };
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${options.address}:${options.port}: ${error.code ?? error.message}`)));
    server.listen(options.port, options.address, () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, port, close });
    });
  });
}

async function handle(options: AgentHttpOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://agent');
  const admission = await options.auth.admit(req, endpointOf(url.pathname));
  if (!admission.ok) {
    if (admission.refusal.status === 401) res.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
    res.setHeader('Connection', 'close'); // an upload refused is not read
    return sendJson(res, admission.refusal.status, { error: admission.refusal.reason });
  }
  if (options.imageStore && REGISTRY_ROUTES.has(url.pathname)) {
    await handleRegistryRequest(options.imageStore, options.images, req, res, url, options.peering);
    // A pull adds to the image disk use: collect now rather than at the next round.
    if (url.pathname === '/v1/images/pull') void options.imageCollector?.collect().catch(() => undefined);
    return;
  }
  if (url.pathname === WARM_PATH) return handleWarmRequest(options.warm, req, res);
  if (await handleImageLifecycle(options, req, res, url)) return;
  if (options.imageStore && url.pathname.startsWith('/v2/')) return handlePeerRequest(options.imageStore, req, res, url);
  if (url.pathname === '/v1/images' || url.pathname.startsWith('/v1/images/')) {
    if (await handleImageRequest(options, req, res, url)) return;
  }
  const signal = SIGNAL_PATH.exec(url.pathname);
  if (signal) return options.main ? handleSignal(options.main, req, res, signal, url) : sendText(res, 501, 'this agent does not signal processes\n');
  const archive = ARCHIVE_PATH.exec(url.pathname);
  if (archive) return handleArchiveRequest(options.files, req, res, archive, url);
  const localVolume = LOCAL_VOLUME_PATH.exec(url.pathname);
  if (localVolume) return handleLocalVolumeRequest(options.localVolumes, req, res, localVolume);
  if (req.method !== 'GET') return sendText(res, 405, `${req.method} is not allowed on ${url.pathname}\n`);
  if (url.pathname === '/healthz') {
    const health = options.health();
    return sendText(res, health.ok ? 200 : 503, `${health.text}\n`);
  }
  if (url.pathname === '/metrics') return serveMetrics(options, url, res);
  const logs = LOGS_PATH.exec(url.pathname);
  if (logs) return streamLogs(options, decodeURIComponent(logs[1]), decodeURIComponent(logs[2]), url.searchParams, req, res);
  if (url.pathname.startsWith('/v1/exec/')) return sendText(res, 400, `exec needs an HTTP/1.1 upgrade ("Connection: Upgrade", "Upgrade: tide-exec")\n`);
  sendText(res, 404, 'not found\n');
}

async function streamLogs(options: AgentHttpOptions, namespace: string, name: string, params: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const query = parseLogQuery(params);
  if (typeof query === 'string') return sendText(res, 400, `${query}\n`);
  const log = options.logPath(namespace, name);
  if (!log) return sendText(res, 404, `replica ${namespace}/${name} is not on this node\n`);
  await serveReplicaLog(typeof log === 'string' ? { current: log } : log, query, req, res, options.logPollMs);
}

type MetricsSource = Pick<AgentHttpOptions, 'registry' | 'expireSamples'>;

/** `GET /metrics[?fresh=1]`, on the HTTPS endpoint and on the opt-in plain one (metrics.insecure.ts). */
export async function serveMetrics(options: MetricsSource, url: URL, res: http.ServerResponse): Promise<void> {
  const fresh = url.searchParams.get('fresh');
  if (fresh !== null && !['', '0', '1', 'true', 'false'].includes(fresh)) return sendText(res, 400, `fresh: expected 1 or 0, got "${fresh}"\n`);
  // A fresh scrape reads every file anew instead of sharing a sample up to 250 ms old (benchmarks, debugging).
  if (isTrue(fresh)) options.expireSamples?.();
  const text = await options.registry.metrics();
  res.setHeader('Content-Type', options.registry.contentType);
  res.end(text);
}
