/**
 * `--metrics-insecure-listen HOST:PORT`: the agent's /metrics over plain HTTP without credentials,
 * for a scraper that can do neither TLS nor tokens. Opt-in only: whoever reaches the port reads the
 * node's and its containers' figures (names of replicas and services included). It serves nothing else.
 */
import * as http from 'node:http';
import type { Registry } from 'prom-client';
import { serveMetrics } from './agent.http';
import { sendText } from './http.responses';

export interface InsecureMetricsServer {
  port: number;
  close(): Promise<void>;
}

export function startInsecureMetrics(
  listen: { host: string; port: number }, source: { registry: Registry; expireSamples?(): void },
): Promise<InsecureMetricsServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method !== 'GET' || url.pathname !== '/metrics') return sendText(res, 404, 'only GET /metrics is served here\n');
    serveMetrics(source, url, res).catch((error: Error) => sendText(res, 500, `${error.message}\n`));
  });
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`--metrics-insecure-listen: cannot listen on ${listen.host}:${listen.port}: ${error.code ?? error.message}`)));
    server.listen(listen.port, listen.host, () => resolve({
      port: (server.address() as { port: number }).port,
      close: () => new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
    }));
  });
}
