/**
 * The agent's side of published ports surviving it (the reaper's: reaper/published.fallback.ts).
 * Every port the balancer listens on is sent to the reaper as a copy of its listening socket, and
 * where its traffic goes is kept in `STATE/published-ports.json` for the reaper to read should the
 * agent die. A restarted agent first takes the sockets its reaper held (and served meanwhile), and
 * listens on them instead of binding again: the port is never closed across the restart.
 * Without a reaper (no IPC channel) it does nothing.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { isNoSpace, writeFileAtomic } from '@tide/runtime';
import { HandoverMessage, PUBLISHED_PORTS_FILE, PublishedPortsRecord } from '../reaper/published.fallback';
import type { PortPlan } from './load.balancer';

/** How long a new agent waits for its reaper's sockets before binding its ports itself. */
const ADOPT_TIMEOUT_MS = 2000;

type SocketHandle = object & { close(): void };

export interface ParentChannel {
  connected?: boolean;
  send?(message: HandoverMessage, handle?: unknown, options?: object, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: HandoverMessage, handle: unknown) => void): unknown;
}

export class PortHandover {
  private readonly adopted = new Map<number, { address: string; handle: SocketHandle }>();
  private readonly adoptedAll: Promise<void>;
  private lastRecord = '';
  private lastProblem = '';

  constructor(
    private readonly stateDir: string,
    private readonly log: (line: string) => void,
    private readonly parent: ParentChannel = process as ParentChannel,
  ) {
    if (!parent.send) {
      this.adoptedAll = Promise.resolve();
      return;
    }
    this.adoptedAll = new Promise((resolve) => {
      const timer = setTimeout(resolve, ADOPT_TIMEOUT_MS);
      parent.on('message', (message, handle) => {
        if (message?.kind === 'tide-adopt' && handle) this.adopted.set(message.port, { address: message.address, handle: handle as SocketHandle });
        if (message?.kind === 'tide-adopt-done') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    this.tell({ kind: 'tide-ready-for-sockets' });
  }

  /** A reaper that died (or was killed) only costs the fallback: a failed send is no error here. */
  private tell(message: HandoverMessage, handle?: unknown): void {
    if (!this.parent.send || this.parent.connected === false) return;
    this.parent.send(message, handle, {}, () => undefined);
  }

  /** Resolves once the reaper's sockets are here (or none are coming). */
  ready(): Promise<void> {
    return this.adoptedAll;
  }

  /** Whether the reaper handed over a socket for this port that the agent has not taken yet. */
  holds(port: number, address: string): boolean {
    return this.adopted.get(port)?.address === address;
  }

  /** The socket the reaper held for this port, if any, to listen on instead of binding. */
  take(port: number, address: string): SocketHandle | undefined {
    const held = this.adopted.get(port);
    if (!held || held.address !== address) return undefined;
    this.adopted.delete(port);
    return held.handle;
  }

  /** The balancer listens on the port: the reaper gets a copy of the socket (and stops serving it). */
  published(port: number, address: string, server: net.Server): void {
    const handle = (server as net.Server & { _handle?: unknown })._handle;
    if (handle) this.tell({ kind: 'tide-published', port, address }, handle);
  }

  /** The port is no longer published (its Service went): the reaper closes its copy. */
  unpublished(port: number): void {
    this.tell({ kind: 'tide-unpublished', port });
  }

  /** After a plan is applied: sockets adopted for ports nobody publishes any more are given up. */
  settle(ports: Map<number, PortPlan>): void {
    for (const [port, held] of this.adopted) {
      if (ports.has(port)) continue;
      this.adopted.delete(port);
      held.handle.close();
      this.unpublished(port);
    }
    this.record(ports);
  }

  /** Where each port's traffic goes, for the reaper should this agent die; a full disk keeps the last record. */
  private record(ports: Map<number, PortPlan>): void {
    const record: PublishedPortsRecord = { ports: {} };
    for (const [port, plan] of ports) record.ports[String(port)] = { service: plan.service, targets: plan.targets.map((t) => ({ host: t.host, port: t.port })) };
    const text = JSON.stringify(record);
    if (text === this.lastRecord) return;
    try {
      writeFileAtomic(path.join(this.stateDir, PUBLISHED_PORTS_FILE), text);
      this.lastRecord = text;
      this.lastProblem = '';
    } catch (error) {
      const problem = `cannot record the published ports' endpoints (${isNoSpace(error) ? 'the disk is full' : (error as Error).message}): a reaper serving them would use the last record`;
      if (problem !== this.lastProblem) this.log(`warning: ${problem}`);
      this.lastProblem = problem;
    }
  }
}
