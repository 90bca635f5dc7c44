/**
 * HTTPS calls from the control plane to node agents (their contract is in docs/REFERENCE.md), with
 * the control plane's client certificate (the only one the agents' exec, logs and image endpoints
 * take), trusting only the cluster CA, and only an agent whose certificate is its node's. Every
 * call has a time limit, so an unreachable node becomes a message naming it, never a hung request.
 */
import type * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { Readable } from 'node:stream';
import { Node, NodeResult } from '@tide/api';
import { NODE_NAME_PREFIX } from '@tide/auth';
import { ClusterCache } from '@tide/store';

/** What the control plane presents to agents and trusts of them (STATE/pki: the client certificate, the CA). */
export interface AgentCredentials {
  ca: string;
  cert: string;
  key: string;
}

export interface AgentTarget {
  node: string;
  address: string;
  port: number;
  credentials: AgentCredentials;
}

/** The agent's default port (docs: node-agent --port). */
const DEFAULT_AGENT_PORT = 7080;

export function agentOf(node: Node, credentials: AgentCredentials): AgentTarget {
  return { node: node.metadata.name, address: node.spec.address, port: node.spec.agentPort ?? DEFAULT_AGENT_PORT, credentials };
}

/** Agents of the Ready nodes, by node name (from the cache, once it has seen every committed write). */
export async function readyAgents(cache: ClusterCache, credentials: AgentCredentials): Promise<AgentTarget[]> {
  await cache.fresh();
  const nodes = cache.list('Node').filter((n) => n.status?.ready);
  return nodes.map((node) => agentOf(node, credentials)).sort((a, b) => a.node.localeCompare(b.node));
}

/**
 * The TLS options of a connection to an agent: the control plane's certificate, the cluster CA, and
 * the server's identity checked twice: its certificate must carry the address dialled (node:tls'
 * usual check) and be the node's own (CN `system:node:<node>`), so that one node's certificate
 * cannot answer for another node registered at its address.
 */
export function agentTlsOptions(agent: AgentTarget): https.RequestOptions {
  return {
    ...agent.credentials,
    minVersion: 'TLSv1.2',
    // SNI takes host names only; an address is checked against the certificate's IP entries.
    ...(isIP(agent.address) ? {} : { servername: agent.address }),
    checkServerIdentity: (host, certificate) => {
      const wrongHost = tls.checkServerIdentity(host, certificate);
      if (wrongHost) return wrongHost;
      const expected = `${NODE_NAME_PREFIX}${agent.node}`;
      const names = [certificate.subject?.CN].flat();
      if (names.length !== 1 || names[0] !== expected) {
        return new Error(`the agent at ${agent.address}:${agent.port} presented the certificate of "${names.join(', ')}", not ${expected}`);
      }
      return undefined;
    },
    agent: false,
  };
}

/** An agent that could not be reached, or answered with an error (status 0 = no answer at all). */
export class AgentError extends Error {
  constructor(
    readonly agent: AgentTarget,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export interface AgentRequestOptions {
  /** A body to stream (a fresh stream per call), or bytes. */
  body?: Readable | Buffer;
  headers?: Record<string, string>;
  /** Longest silence on the connection before the node counts as unreachable. */
  idleTimeoutMs: number;
}

/** Resolves with the agent's response (any status); rejects with an AgentError when it cannot be reached. */
export function agentRequest(agent: AgentTarget, method: string, path: string, options: AgentRequestOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const where = `node ${agent.node} (agent at ${agent.address}:${agent.port})`;
    const req = https.request({ host: agent.address, port: agent.port, method, path, headers: options.headers, ...agentTlsOptions(agent) });
    req.setTimeout(options.idleTimeoutMs, () => req.destroy(new AgentError(agent, 0, `${where} did not answer within ${options.idleTimeoutMs / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => reject(error instanceof AgentError ? error : new AgentError(agent, 0, `${where} unreachable: ${error.code ?? error.message}`)));
    req.on('response', resolve);
    if (options.body instanceof Readable) {
      options.body.on('error', (error) => req.destroy(error));
      options.body.pipe(req);
    } else {
      req.end(options.body);
    }
  });
}

/** A JSON call; a non-2xx answer rejects with the agent's `error` text. */
export async function agentJson<T>(agent: AgentTarget, method: string, path: string, options: AgentRequestOptions): Promise<T> {
  const response = await agentRequest(agent, method, path, options);
  const text = await readAll(response, agent, options.idleTimeoutMs);
  let parsed: { error?: unknown } | undefined;
  try {
    parsed = JSON.parse(text) as { error?: unknown };
  } catch {
    parsed = undefined;
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const message = typeof parsed?.error === 'string' ? parsed.error : text.trim() || `HTTP ${status}`;
    throw new AgentError(agent, status, message);
  }
  return parsed as T;
}

function readAll(response: http.IncomingMessage, agent: AgentTarget, idleTimeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    response.setEncoding('utf8');
    response.setTimeout(idleTimeoutMs, () => response.destroy(new AgentError(agent, 0, `node ${agent.node} stopped answering`)));
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => resolve(text));
    response.on('error', reject);
  });
}

/** Runs a call on every agent at once; each answer or failure is kept with its node's name. */
export function onEveryAgent<T>(agents: AgentTarget[], call: (agent: AgentTarget) => Promise<T>): Promise<NodeResult<T>[]> {
  return Promise.all(agents.map((agent) => call(agent).then(
    (value): NodeResult<T> => ({ node: agent.node, ok: true, value }),
    (error: unknown): NodeResult<T> => ({
      node: agent.node, ok: false, error: (error as Error).message, status: error instanceof AgentError ? error.status : 0,
    }),
  )));
}

/** The peers of a swarm pull (peer-to-peer layers): every agent pulling, by name, in one order all of them see. */
export function peersOf(agents: readonly AgentTarget[]): { node: string; address: string }[] {
  return agents.map((a) => ({ node: a.node, address: `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` }));
}

