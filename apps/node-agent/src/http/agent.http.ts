/** The agent's HTTP endpoint (contract): GET /healthz, GET /metrics, GET /v1/logs/NAMESPACE/NAME[?follow=1]. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Registry } from 'prom-client';
import { streamLogFile } from './log.stream';

export interface AgentHttpOptions {
  address: string;
  port: number;
  registry: Registry;
  /** The replica's log file, or undefined when this node has no such replica. */
  logPath(namespace: string, name: string): string | undefined;
  /** Whether the agent is healthy; the text says why not. */
  health(): { ok: boolean; text: string };
  logPollMs?: number;
}

const LOGS_PATH = /^\/v1\/logs\/([^/]+)\/([^/]+)$/;

export function startAgentHttp(options: AgentHttpOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    handle(options, req, res).catch((error: Error) => {
      if (!res.headersSent) send(res, 500, `${error.message}\n`);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${options.address}:${options.port}: ${error.code ?? error.message}`)));
    server.listen(options.port, options.address, () => resolve(server));
  });
}

async function handle(options: AgentHttpOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://agent');
  if (req.method !== 'GET') return send(res, 405, 'only GET\n');
  if (url.pathname === '/healthz') {
    const health = options.health();
    return send(res, health.ok ? 200 : 503, `${health.text}\n`);
  }
  if (url.pathname === '/metrics') {
    const text = await options.registry.metrics();
    res.setHeader('Content-Type', options.registry.contentType);
    return void res.end(text);
  }
  const logs = LOGS_PATH.exec(url.pathname);
  if (logs) return streamLogs(options, decodeURIComponent(logs[1]), decodeURIComponent(logs[2]), isTrue(url.searchParams.get('follow')), req, res);
  send(res, 404, 'not found\n');
}

async function streamLogs(options: AgentHttpOptions, namespace: string, name: string, follow: boolean, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const file = options.logPath(namespace, name);
  if (!file) return send(res, 404, `replica ${namespace}/${name} is not on this node\n`);
  if (!fs.existsSync(file)) {
    if (!follow) return send(res, 200, '');
    // A replica that has not written anything yet: follow starts with an empty file.
    await fs.promises.writeFile(file, '', { flag: 'a' }).catch(() => undefined);
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
  const reader = new AbortController();
  res.on('close', () => reader.abort());
  req.on('close', () => reader.abort());
  await streamLogFile(file, res, { follow, signal: reader.signal, pollMs: options.logPollMs });
  res.end();
}

/** `?follow`, `?follow=1` and `?follow=true` follow; `?follow=0` and `?follow=false` do not. */
export function isTrue(value: string | null): boolean {
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}

function send(res: http.ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text);
}
