/**
 * An HTTP published port of the node: its client sessions, its backends and their keep-alive
 * pools, and the events of every upstream connection (registered once per connection, routed to
 * the session using it, or handled here while it idles in a pool). Overload: the port's FIFO queue of
 * requests waiting for a replica with room (bounded), and one timer for the deadlines of every
 * request without an answer yet (they share one duration, so the oldest expires first).
 */
import * as net from 'node:net';
import { Backend, isUnreachable } from './backend.set';
import { HttpSession, UpstreamSocket } from './http.session';
import { ProxyOptions, PublishedPort } from './published.port';
import type { ServiceTraffic } from './balancer.metrics';

/** Size of the shared buffer upstream connections read into. */
const READ_BUFFER_BYTES = 64 * 1024;

export class HttpPort extends PublishedPort {
  readonly sessions = new Set<HttpSession>();
  /**
   * Every upstream connection of the port reads into this one buffer (net's `onread`): an answer's
   * bytes are forwarded before the next read, so no buffer is allocated per read. A session that
   * must keep bytes copies them; a write still pending takes the buffer, and a new one is made.
   */
  private readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** Requests waiting for a replica with room, oldest first. */
  readonly queue = new Set<HttpSession>();
  /** Requests without an answer yet, by arrival (oldest first). */
  private readonly awaiting = new Set<HttpSession>();
  private deadlineTimer?: NodeJS.Timeout;
  private drainScheduled = false;

  constructor(service: string, traffic: ServiceTraffic, options: ProxyOptions, log: (line: string) => void) {
    super(service, traffic, options, log);
    // New replicas take queued requests; with none left, queued requests get their 503 now.
    this.backends.onUpdate = () => this.slotFreed();
  }

  accept(client: net.Socket): void {
    this.traffic.connections++;
    client.setTimeout(this.options.idleTimeoutMs, () => client.destroy());
    this.sessions.add(new HttpSession(this, client));
  }

  /** Stops new exchanges: sessions end after the one in flight, pools close. */
  override close(): void {
    super.close();
    for (const session of this.sessions) session.shutdown();
  }

  enqueue(session: HttpSession, retry: boolean): boolean {
    if (this.queue.size >= this.options.queueLength) return false;
    this.traffic.queued++;
    if (!retry || this.queue.size === 0) {
      this.queue.add(session);
      return true;
    }
    // A request whose connect failed keeps its turn: back in the queue by its arrival (the queue's
    // order, which the deadlines follow too).
    const rest = [...this.queue];
    this.queue.clear();
    let placed = false;
    for (const other of rest) {
      if (!placed && other.began > session.began) {
        this.queue.add(session);
        placed = true;
      }
      this.queue.add(other);
    }
    if (!placed) this.queue.add(session);
    return true;
  }

  dequeue(session: HttpSession): void {
    if (this.queue.delete(session)) this.traffic.queued--;
  }

  slotFreed(): void {
    if (this.queue.size === 0 || this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => this.drain());
  }

  /** Hands queued requests, oldest first, to replicas with room (every one when no replica is left: 503). */
  private drain(): void {
    this.drainScheduled = false;
    const none = this.backends.backends.length === 0;
    for (const session of this.queue) {
      if (!none && !this.backends.hasRoom(this.options.maxRequestsPerReplica)) break;
      this.dequeue(session);
      session.dequeued();
      // Back in the queue: the room is at replicas it tried; the next finished request drains again.
      if (this.queue.has(session)) return;
    }
  }

  awaitAnswer(session: HttpSession): void {
    if (this.options.requestDeadlineMs <= 0) return;
    this.awaiting.add(session);
    if (!this.deadlineTimer) this.armDeadline(session.began);
  }

  settled(session: HttpSession): void {
    this.awaiting.delete(session);
  }

  private armDeadline(began: number): void {
    const wait = Math.max(0, began + this.options.requestDeadlineMs - performance.now());
    this.deadlineTimer = setTimeout(() => this.expire(), Math.ceil(wait));
    this.deadlineTimer.unref();
  }

  /** Answers every request whose deadline passed; the timer follows the oldest one left. */
  private expire(): void {
    this.deadlineTimer = undefined;
    const now = performance.now();
    for (const session of this.awaiting) {
      if (session.began + this.options.requestDeadlineMs > now) return this.armDeadline(session.began);
      this.awaiting.delete(session);
      session.deadlinePassed();
    }
  }

  renewReadBuffer(): void {
    this.readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  }

  /** A new connection to a backend, its events routed to the session using it. */
  connectUpstream(backend: Backend): net.Socket {
    const upstream: UpstreamSocket = net.connect({
      host: backend.host, port: backend.port, noDelay: true, timeout: this.options.connectTimeoutMs,
      onread: {
        buffer: () => this.readBuffer,
        callback: (length: number, buffer: Uint8Array) => {
          if (upstream.session) upstream.session.fromUpstream((buffer as Buffer).subarray(0, length));
          else upstream.destroy(); // nothing is owed on an idle connection
          return true;
        },
      },
    });
    this.watchUpstream(upstream, backend);
    return upstream;
  }

  private watchUpstream(upstream: UpstreamSocket, backend: Backend): void {
    const socket: net.Socket = upstream;
    upstream.on('connect', () => upstream.session?.upstreamConnected(socket));
    upstream.on('drain', () => upstream.session?.upstreamDrained());
    upstream.on('timeout', () => {
      if (!upstream.session) socket.destroy();
      else if (upstream.connecting) upstream.session.upstreamFailed('no connection within the connect timeout', false, true);
      else upstream.session.upstreamFailed('no answer within the upstream timeout');
    });
    upstream.on('error', (error) => upstream.session?.upstreamFailed(error.message, false, isUnreachable(error)));
    upstream.on('end', () => upstream.session?.upstreamFailed('closed the connection', true));
    upstream.on('close', () => {
      backend.dropIdle(socket);
      upstream.session?.upstreamFailed('closed the connection', true);
    });
  }
}
