/**
 * `GET /api/v1/replicas/NAME/exec?namespace=NS&command=ARG...[&tty=1][&stdin=1][&rows=R&cols=C]` and
 * `GET /api/v1/replicas/NAME/attach?namespace=NS[&stdin=1][&replay=1]` with `Upgrade: tide-exec`: the control plane finds the replica's node (as the logs proxy does), opens the
 * same upgrade to that node's agent, and once the agent has switched protocols splices the two
 * connections byte for byte (frames: libs/api exec.protocol.ts). Any answer before that (400, 404,
 * an unreachable node) goes back to the caller as a plain HTTP response.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { EXEC_UPGRADE_PROTOCOL, Node, Replica } from '@tide/api';
import { ObjectStore } from '@tide/store';
import type { ResourceRequest, Subject } from '@tide/auth';
import { ApiAuth, WWW_AUTHENTICATE } from '../auth/api.auth';
import { resourceRequest } from '../auth/resource.requests';
import { AgentCredentials, AgentTarget, agentOf, agentTlsOptions } from './agent.client';

/** exec, and attach to the main process (`?stdin=1&replay=1`, the agent's attach.routes.ts): the same frames and right. */
const EXEC_PATH = /^\/api\/v1\/replicas\/([^/]+)\/(exec|attach)$/;
/** Time for the agent to accept the connection and start the process. */
const AGENT_HANDSHAKE_MS = 10_000;
const SWITCHING = `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${EXEC_UPGRADE_PROTOCOL}\r\n\r\n`;

class ExecRefusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Who asked for the exec, once admitted: what the audit line names. */
interface Admitted {
  subject: Subject;
  request: ResourceRequest;
}

/**
 * Handles every upgrade request of the API server (exec is the only upgrade the API offers). Returns
 * what ends the sessions under way: upgraded sockets are no longer the HTTP server's to close.
 */
export function attachExecProxy(server: net.Server, store: ObjectStore, auth: ApiAuth, credentials: () => AgentCredentials): () => void {
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let admitted: Admitted | undefined;
    const admit = (value: Admitted) => (admitted = value);
    proxyExec(store, auth, credentials, admit, req, socket, head).then(() => {
      if (admitted) auth.recordOutcome(admitted.subject, [admitted.request], 101, req);
    }, (error: unknown) => {
      const status = error instanceof ExecRefusal ? error.status : 500;
      if (admitted) auth.recordOutcome(admitted.subject, [admitted.request], status, req);
      answer(socket, status, JSON.stringify({ error: (error as Error).message, details: [] }));
    });
  });
  return () => sockets.forEach((socket) => socket.destroy());
}

/** The same door as every route (auth.guard.ts): Host, credentials, the role for replicas/exec in that namespace. */
async function admitExec(auth: ApiAuth, req: http.IncomingMessage, name: string, namespace: string | null): Promise<Admitted> {
  const host = auth.checkHost(req);
  if (!host.ok) throw new ExecRefusal(421, `${host.reason}: address the API by one of its names`);
  const request = resourceRequest('create', 'replicas/exec', { query: namespace === null ? {} : { namespace }, params: { name } });
  const admission = await auth.admit(req, [request]);
  if (!admission.ok) throw new ExecRefusal(admission.refusal.status, admission.refusal.reason);
  return { subject: admission.subject, request };
}

async function proxyExec(
  store: ObjectStore, auth: ApiAuth, credentials: () => AgentCredentials, admit: (admitted: Admitted) => void,
  req: http.IncomingMessage, socket: Duplex, head: Buffer,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://control-plane');
  const match = EXEC_PATH.exec(url.pathname);
  if (!match || req.method !== 'GET') throw new ExecRefusal(404, `no upgrade endpoint at ${req.method} ${url.pathname}`);
  const name = decodeURIComponent(match[1]);
  admit(await admitExec(auth, req, name, url.searchParams.get('namespace')));
  if (req.headers.upgrade?.toLowerCase() !== EXEC_UPGRADE_PROTOCOL) throw new ExecRefusal(400, `exec needs "Upgrade: ${EXEC_UPGRADE_PROTOCOL}"`);
  const namespace = url.searchParams.get('namespace') || 'default';
  const verb = match[2];
  const command = url.searchParams.getAll('command');
  if (verb === 'exec' && (command.length === 0 || command[0] === '')) throw new ExecRefusal(400, 'command: give the command to run, one "command" parameter per argument');
  const replica = await store.get<Replica>('Replica', namespace, name);
  if (!replica) throw new ExecRefusal(404, `replica "${name}" not found in namespace "${namespace}"`);
  if (!replica.spec.nodeName) throw new ExecRefusal(400, `replica "${name}" is not scheduled yet: nothing to exec into`);
  const node = await store.get<Node>('Node', 'default', replica.spec.nodeName);
  if (!node) throw new ExecRefusal(404, `node "${replica.spec.nodeName}" of replica "${name}" not found`);
  const params = new URLSearchParams(url.searchParams);
  params.delete('namespace');
  await spliceToAgent(socket, head, agentOf(node, credentials()), `/v1/${verb}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?${params}`);
}

function spliceToAgent(client: Duplex, head: Buffer, agent: AgentTarget, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const where = `node ${agent.node} (agent at ${agent.address}:${agent.port})`;
    const upstream = https.request({
      host: agent.address, port: agent.port, path, headers: { Connection: 'Upgrade', Upgrade: EXEC_UPGRADE_PROTOCOL }, ...agentTlsOptions(agent),
    });
    upstream.setTimeout(AGENT_HANDSHAKE_MS, () => upstream.destroy(new ExecRefusal(504, `${where} did not answer within ${AGENT_HANDSHAKE_MS / 1000} s`)));
    upstream.on('error', (error: NodeJS.ErrnoException) =>
      reject(error instanceof ExecRefusal ? error : new ExecRefusal(502, `${where} unreachable: ${error.code ?? error.message}`)));
    upstream.on('response', (response) => {
      // The agent refused (404: not on that node, 400: bad request): its answer is the caller's.
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => reject(new ExecRefusal(response.statusCode ?? 502, agentError(body))));
    });
    upstream.on('upgrade', (_response, agentSocket: net.Socket, agentHead: Buffer) => {
      agentSocket.setTimeout(0); // an idle shell is not a dead node
      client.write(SWITCHING);
      if (agentHead.length) client.write(agentHead);
      if (head.length) agentSocket.write(head);
      // Ends travel through the pipes (the EXIT frame must not be cut off); a reset on one side resets the other.
      agentSocket.on('error', () => client.destroy());
      client.on('error', () => agentSocket.destroy());
      client.on('close', () => agentSocket.destroy());
      agentSocket.pipe(client);
      client.pipe(agentSocket);
      resolve();
    });
    client.on('close', () => upstream.destroy());
    upstream.end();
  });
}

function agentError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the text itself
  }
  return body.trim() || 'the agent refused the exec';
}

function answer(socket: Duplex, status: number, body: string): void {
  if (socket.destroyed) return;
  socket.end([
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'Content-Type: application/json',
    ...(status === 401 ? [`WWW-Authenticate: ${WWW_AUTHENTICATE}`] : []),
    `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body,
  ].join('\r\n'));
}
