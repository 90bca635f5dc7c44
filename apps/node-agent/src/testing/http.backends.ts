/** Real HTTP backends and clients on loopback for the balancer's tests. */
import * as http from 'node:http';
import * as net from 'node:net';

export interface TestBackend {
  name: string;
  port: number;
  server: http.Server;
  /** Connections accepted so far. */
  connections: number;
  /** Requests answered so far. */
  requests: number;
  /** Requests to /hold waiting for `release()`. */
  held: number;
  /** Answers every /hold request waiting now. */
  release(): void;
}

/**
 * Answers every request with its name and what it read ("name GET /path body"); a request to /hold
 * waits for `release()`, so a test can hold requests in flight as long as it needs.
 */
export async function startBackend(name: string): Promise<TestBackend> {
  const waiting: (() => void)[] = [];
  const backend: TestBackend = {
    name, port: 0, server: http.createServer(), connections: 0, requests: 0, held: 0,
    release: () => {
      backend.held = 0;
      waiting.splice(0).forEach((answer) => answer());
    },
  };
  backend.server.on('connection', () => backend.connections++);
  backend.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = () => {
        backend.requests++;
        const body = Buffer.concat(chunks);
        if (req.url === '/chunked') {
          res.write(`${name} `);
          res.end(body);
          return;
        }
        res.end(`${name} ${req.method} ${req.url} ${body.length > 64 ? `${body.length} bytes` : body.toString()}`);
      };
      if (!req.url?.startsWith('/hold')) return answer();
      backend.held++;
      waiting.push(answer);
    });
  });
  await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
  backend.port = (backend.server.address() as net.AddressInfo).port;
  return backend;
}

export async function stopBackend(backend: TestBackend): Promise<void> {
  backend.server.closeAllConnections();
  await new Promise((resolve) => backend.server.close(resolve));
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Answer {
  status: number;
  body: string;
}

export function request(port: number, path: string, options: { method?: string; body?: string | Buffer; agent?: http.Agent; headers?: http.OutgoingHttpHeaders } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
