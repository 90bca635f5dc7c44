/** The agent's HTTP endpoint: /healthz, /metrics, and container logs (with follow). */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Registry } from 'prom-client';

export interface AgentHttpOptions {
  address: string;
  port: number;
  registry: Registry;
  logPath(namespace: string, name: string): string | undefined;
}

export function startHttpServer(options: AgentHttpOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (url.pathname === '/healthz') return void res.end('ok\n');
    if (url.pathname === '/metrics') {
      void options.registry.metrics().then((text) => {
        res.setHeader('Content-Type', options.registry.contentType);
        res.end(text);
      });
      return;
    }
    const logs = /^\/v1\/logs\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (logs) return streamLog(options.logPath(logs[1], logs[2]), url.searchParams.has('follow'), req, res);
    res.statusCode = 404;
    res.end('not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => resolve(server));
  });
}

/** Sends the log file; with follow, keeps sending what is appended until the client goes away. */
function streamLog(file: string | undefined, follow: boolean, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (!file || !fs.existsSync(file)) {
    res.statusCode = 404;
    return void res.end('no logs for this replica on this node\n');
  }
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  let position = 0;
  const pump = () => {
    const size = fs.existsSync(file) ? fs.statSync(file).size : position;
    if (size > position) {
      const chunk = Buffer.alloc(size - position);
      const fd = fs.openSync(file, 'r');
      fs.readSync(fd, chunk, 0, chunk.length, position);
      fs.closeSync(fd);
      position = size;
      res.write(chunk);
    }
  };
  pump();
  if (!follow) return void res.end();
  const timer = setInterval(pump, 250);
  req.on('close', () => clearInterval(timer));
}
