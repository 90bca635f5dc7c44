/**
 * The reaper's side of published ports surviving their agent (why this design:
 * docs/ARCHITECTURE.md, "Published ports through an agent restart").
 *
 * The agent sends the reaper a copy of every listening socket of a published port (over the IPC
 * channel, SCM_RIGHTS: the same kernel socket, one more reference). A killed agent's sockets so stay
 * open: connections arriving while no agent runs wait in the socket's accept queue instead of being
 * refused. The reaper then accepts them itself and forwards each, as TCP, to one of the port's last
 * known ready endpoints (the agent keeps them in `published-ports.json`), until a new agent, which
 * the reaper hands the same sockets to, says it listens on the port again. The port is never
 * closed in between, so a client sees no refusal.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { splice } from '../proxy/splice';

export const PUBLISHED_PORTS_FILE = 'published-ports.json';
const CONNECT_TIMEOUT_MS = 2000;

/** Messages between the agent and its reaper about published ports. */
export type HandoverMessage =
  | { kind: 'tide-published'; port: number; address: string }
  | { kind: 'tide-unpublished'; port: number }
  | { kind: 'tide-ready-for-sockets' }
  | { kind: 'tide-adopt'; port: number; address: string }
  | { kind: 'tide-adopt-done' };

/** What `published-ports.json` holds: per port, where its traffic goes. */
export interface PublishedPortsRecord {
  ports: Record<string, { service: string; targets: { host: string; port: number }[] }>;
}

/** A raw listening socket handle as the IPC channel hands it over (libuv's TCP wrap). */
type SocketHandle = object & { close(callback?: () => void): void };

interface HeldPort {
  address: string;
  handle: SocketHandle;
  /** Set while the reaper serves the port itself (no agent has it). */
  server?: net.Server;
}

export class PublishedFallback {
  private readonly held = new Map<number, HeldPort>();

  constructor(
    private readonly stateDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** A message from the agent; false if it was not about published ports. */
  onMessage(agent: ChildProcess, message: HandoverMessage, handle: unknown): boolean {
    switch (message?.kind) {
      case 'tide-published':
        if (handle) this.agentListens(message.port, message.address, handle as SocketHandle);
        return true;
      case 'tide-unpublished':
        this.drop(message.port);
        return true;
      case 'tide-ready-for-sockets':
        this.handOver(agent);
        return true;
      default:
        return false;
    }
  }

  /** The agent is gone: every held port is served from here until another agent takes it. */
  serve(): void {
    const targets = this.readTargets();
    for (const [port, held] of this.held) {
      if (held.server) continue;
      const ends = targets.ports[String(port)]?.targets ?? [];
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => forward(client, ends));
      server.on('error', (error) => this.log(`published port ${port}: ${error.message}`));
      server.listen(held.handle as never);
      held.server = server;
      this.log(`serving published port ${port} (${held.address}) over ${ends.length} endpoint(s) until an agent takes it again`);
    }
  }

  private agentListens(port: number, address: string, handle: SocketHandle): void {
    const before = this.held.get(port);
    this.held.set(port, { address, handle });
    if (!before) return;
    // The agent accepts on the very socket: ours stops, and our copy of it goes (the agent's stays open).
    if (before.server) before.server.close();
    else if (before.handle !== handle) before.handle.close();
    if (before.server) this.log(`published port ${port} handed back to the agent`);
  }

  private drop(port: number): void {
    const held = this.held.get(port);
    if (!held) return;
    this.held.delete(port);
    if (held.server) held.server.close();
    else held.handle.close();
  }

  /** A new agent gets every held socket; it listens on those it still publishes and gives the rest up. */
  private handOver(agent: ChildProcess): void {
    for (const [port, held] of this.held) {
      const message: HandoverMessage = { kind: 'tide-adopt', port, address: held.address };
      if (agent.connected) agent.send(message, held.handle as never);
    }
    if (agent.connected) agent.send({ kind: 'tide-adopt-done' } satisfies HandoverMessage);
  }

  private readTargets(): PublishedPortsRecord {
    const file = path.join(this.stateDir, PUBLISHED_PORTS_FILE);
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as PublishedPortsRecord;
    } catch (error) {
      this.log(`cannot read ${file} (${(error as Error).message}): held ports get no endpoint`);
      return { ports: {} };
    }
  }
}

/** One client connection to one endpoint, tried in random order; both ways, half-close aware. */
function forward(client: net.Socket, ends: { host: string; port: number }[]): void {
  client.pause();
  client.on('error', () => client.destroy());
  const order = [...ends].sort(() => Math.random() - 0.5);
  const attempt = (i: number) => {
    if (client.destroyed) return;
    if (i >= order.length) return client.destroy();
    const upstream = net.connect({ host: order[i].host, port: order[i].port, allowHalfOpen: true, noDelay: true, timeout: CONNECT_TIMEOUT_MS });
    const next = () => {
      upstream.destroy();
      attempt(i + 1);
    };
    upstream.once('error', next);
    upstream.once('timeout', next);
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      upstream.removeListener('error', next);
      upstream.removeListener('timeout', next);
      splice(client, upstream);
    });
  };
  attempt(0);
}
