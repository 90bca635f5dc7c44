/**
 * Listens on the node's address at each published port and forwards every TCP connection to one of
 * the port's targets, round-robin; a target that refuses is skipped for the next one. Applying a plan
 * opens the ports that appeared, closes those that went (established connections finish on their
 * own) and swaps targets in place. The seed of the per-node load balancer.
 */
import * as net from 'node:net';
import { PublishEntry, Target } from './publish.plan';

interface Listener {
  server: net.Server;
  entry: PublishEntry;
  next: number;
  /** Listening failed (port in use...): retried at the next apply. */
  failed: boolean;
}

export class TcpForwarder {
  private readonly listeners = new Map<number, Listener>();

  constructor(
    private readonly address: string,
    private readonly log: (line: string) => void = () => undefined,
    private readonly connectTimeoutMs = 2000,
  ) {}

  /** The ports listened on now. */
  ports(): number[] {
    return [...this.listeners].filter(([, l]) => !l.failed).map(([port]) => port).sort((a, b) => a - b);
  }

  async apply(plan: Map<number, PublishEntry>): Promise<void> {
    for (const [port, listener] of this.listeners) {
      if (plan.has(port) && !listener.failed) continue;
      this.listeners.delete(port);
      await new Promise((resolve) => listener.server.close(resolve));
      if (!listener.failed) this.log(`stopped publishing port ${port} (${listener.entry.service}: no replica left)`);
    }
    for (const [port, entry] of plan) {
      const listener = this.listeners.get(port);
      if (listener) listener.entry = entry;
      else await this.listen(port, entry);
    }
  }

  async close(): Promise<void> {
    await this.apply(new Map());
  }

  private async listen(port: number, entry: PublishEntry): Promise<void> {
    // Half-open both ways: a client that shuts down its sending side still gets the whole answer.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.forward(listener, socket));
    const listener: Listener = { server, entry, next: 0, failed: false };
    this.listeners.set(port, listener);
    await new Promise<void>((resolve) => {
      listener.server.once('error', (error) => {
        listener.failed = true;
        this.log(`cannot publish port ${port} for ${entry.service} on ${this.address}: ${error.message}`);
        resolve();
      });
      listener.server.listen(port, this.address, () => {
        this.log(`publishing ${this.address}:${port} for ${entry.service}`);
        resolve();
      });
    });
  }

  private forward(listener: Listener, client: net.Socket): void {
    client.pause(); // nothing is lost while the upstream connects
    client.on('error', () => undefined);
    const targets = listener.entry.targets;
    const first = listener.next++ % Math.max(1, targets.length);
    this.connect(targets, first, 0, client);
  }

  /** Tries the targets from `index` on until one accepts, then pipes both ways. */
  private connect(targets: Target[], index: number, tried: number, client: net.Socket): void {
    if (tried >= targets.length || client.destroyed) {
      client.destroy();
      return;
    }
    const target = targets[(index + tried) % targets.length];
    const upstream = net.connect({ host: target.host, port: target.port, timeout: this.connectTimeoutMs, allowHalfOpen: true });
    const retry = () => {
      upstream.destroy();
      this.connect(targets, index, tried + 1, client);
    };
    upstream.once('timeout', retry);
    upstream.once('error', retry);
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      upstream.removeListener('error', retry);
      upstream.removeListener('timeout', retry);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
