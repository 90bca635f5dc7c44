/**
 * `--metrics-insecure-listen HOST:PORT`: the control plane's /metrics over plain HTTP without
 * credentials, for a scraper that can do neither TLS nor tokens. Opt-in only: whoever reaches the
 * port reads the figures (service and node names included). It serves nothing else.
 */
import * as http from 'node:http';
import type { Registry } from 'prom-client';

export interface InsecureMetricsListener {
  port: number;
  close(): Promise<void>;
}

export function listenInsecureMetrics(listen: { host: string; port: number }, registry: Registry): Promise<InsecureMetricsListener> {
  const server = http.createServer((req, res) => {
    const answer = (status: number, type: string, body: string) => res.writeHead(status, { 'Content-Type': type }).end(body);
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://control-plane').pathname !== '/metrics') {
      return answer(404, 'text/plain; charset=utf-8', 'only GET /metrics is served here\n');
    }
    registry.metrics().then((text) => answer(200, registry.contentType, text), (error: Error) => answer(500, 'text/plain; charset=utf-8', `${error.message}\n`));
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
