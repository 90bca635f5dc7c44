/**
 * A stand-in node agent for the control plane's route tests: the agent's image and exec endpoints
 * (docs/REFERENCE.md) over real HTTPS, as the real agent: a serving certificate of its node from the
 * cluster CA, and only client certificates of that CA accepted (`callers` records their names),
 * with images kept in memory. Its archives are text
 * ("stand-in-archive" then one ref per line), so an export from one stand-in imports into another.
 * Exec upgrades to replicas it holds and echoes every byte back until the client sends "bye".
 */
import type * as http from 'node:http';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { issueServerCertificate, readCertificateAuthorityFiles, type ClusterPkiLayout } from '@tide/pki';
import { Duplex } from 'node:stream';
import { NodeImage } from '@tide/api';

export const ARCHIVE_MAGIC = 'stand-in-archive';

export interface StandInAgent {
  port: number;
  images: Map<string, NodeImage>;
  /** Replicas ("ns/name") this node runs: exec into others answers 404. */
  replicas: Set<string>;
  /** "METHOD path" of every request, in order. */
  requests: string[];
  /** The common name of each request's client certificate, in order. */
  callers: string[];
  close(): Promise<void>;
}

/** `servingAs`: the node whose certificate it presents (default `node`; another node's name makes it an impostor). */
export async function startStandInAgent(pki: ClusterPkiLayout, node: string, servingAs = node): Promise<StandInAgent> {
  const agent = { images: new Map<string, NodeImage>(), replicas: new Set<string>(), requests: [] as string[], callers: [] as string[] };
  const sockets = new Set<Duplex>();
  const ca = await readCertificateAuthorityFiles(pki.caCertificate, pki.caKey);
  const serving = await issueServerCertificate(ca, { commonName: `system:node:${servingAs}`, ipAddresses: ['127.0.0.1'] });
  const caller = (req: http.IncomingMessage) => String((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
  const server = https.createServer({
    cert: serving.certificatePem, key: serving.key.toPem(), ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    agent.requests.push(`${req.method} ${req.url}`);
    agent.callers.push(caller(req));
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => answer(agent.images, req, body, res));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    agent.requests.push(`UPGRADE ${req.url}`);
    agent.callers.push(caller(req));
    sockets.add(socket);
    const [, ns, name] = /^\/v1\/exec\/([^/]+)\/([^/?]+)/.exec(req.url ?? '') ?? [];
    if (!agent.replicas.has(`${ns}/${name}`)) {
      const text = JSON.stringify({ error: `replica ${ns}/${name} is not running on this node` });
      return socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tide-exec\r\n\r\n');
    socket.on('data', (chunk: Buffer) => (chunk.toString().includes('bye') ? socket.end(chunk) : socket.write(chunk)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...agent,
    port: (server.address() as { port: number }).port,
    close: async () => {
      sockets.forEach((socket) => socket.destroy());
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function answer(images: Map<string, NodeImage>, req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
  const json = (status: number, value: unknown): void => void res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
  const url = new URL(req.url ?? '/', 'http://agent');
  const ref = decodeURIComponent(/^\/v1\/images\/([^/]+)/.exec(url.pathname)?.[1] ?? '');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /v1/images') return json(200, { items: [...images.values()] });
  if (route === 'POST /v1/images/import') {
    const lines = body.split('\n').filter(Boolean);
    if (lines[0] !== ARCHIVE_MAGIC) return json(400, { error: 'archive.tar: no index.json or manifest.json' });
    return json(200, { images: lines.slice(1).map((r) => add(images, r)) });
  }
  if (route === 'POST /v1/images/build') {
    const tag = url.searchParams.get('tag') ?? '';
    const fails = body.includes('RUN false');
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.write(`${JSON.stringify({ log: 'Step 1/2 : FROM busybox' })}\n${JSON.stringify({ log: `Step 2/2 : ${fails ? 'RUN false' : 'RUN true'}` })}\n`);
    const result = fails ? { ok: false, error: 'step 2/2 "RUN false": exit code 1' } : { ok: true, image: add(images, tag) };
    return void res.end(`${JSON.stringify({ result })}\n`);
  }
  if (req.method === 'DELETE' && ref) return images.delete(ref) ? json(200, { deleted: ref }) : json(404, { error: `image "${ref}" not found on this node` });
  if (req.method === 'GET' && url.pathname.endsWith('/export')) {
    return images.has(ref) ? void res.end(`${ARCHIVE_MAGIC}\n${ref}\n`) : json(404, { error: `image "${ref}" not found on this node` });
  }
  json(404, { error: 'not found' });
}

export function add(images: Map<string, NodeImage>, ref: string, id = `sha256:${Buffer.from(ref).toString('hex').padEnd(64, '0').slice(0, 64)}`): NodeImage {
  const image: NodeImage = { ref, id, layers: [id], sizeBytes: 1_234_567 };
  images.set(ref, image);
  return image;
}
