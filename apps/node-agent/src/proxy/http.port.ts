/**
 * An HTTP published port of the node: its client sessions, its backends and their keep-alive
 * pools, and the events of every upstream connection (registered once per connection, routed to
 * the session using it, or handled here while it idles in a pool).
 */
import * as net from 'node:net';
import { Backend, BackendSet } from './backend.set';
import { ServiceTraffic } from './balancer.metrics';
import { HttpSession, UpstreamSocket } from './http.session';

export interface ProxyOptions {
  /** A backend that does not accept within this time is skipped for another. */
  connectTimeoutMs: number;
  /** A backend silent this long in the middle of an exchange fails it (nginx's proxy_read_timeout). */
  responseTimeoutMs: number;
  /** Idle keep-alive connections (to clients and in the pools) are closed after this time. */
  idleTimeoutMs: number;
}

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = { connectTimeoutMs: 2000, responseTimeoutMs: 60_000, idleTimeoutMs: 60_000 };

export class HttpPort {
  readonly sessions = new Set<HttpSession>();
  readonly backends = new BackendSet();
  closing = false;

  constructor(
    readonly service: string,
    readonly traffic: ServiceTraffic,
    readonly options: ProxyOptions,
    readonly log: (line: string) => void,
  ) {}

  accept(client: net.Socket): void {
    this.traffic.connections++;
    client.setTimeout(this.options.idleTimeoutMs, () => client.destroy());
    this.sessions.add(new HttpSession(this, client));
  }

  /** Stops new exchanges: sessions end after the one in flight, pools close. */
  close(): void {
    this.closing = true;
    for (const session of this.sessions) session.shutdown();
    this.backends.update([]);
  }

  watchUpstream(socket: net.Socket, backend: Backend): void {
    const upstream = socket as UpstreamSocket;
    upstream.on('connect', () => upstream.session?.upstreamConnected(socket));
    upstream.on('data', (chunk: Buffer) => {
      if (upstream.session) upstream.session.fromUpstream(chunk);
      else socket.destroy(); // nothing is owed on an idle connection
    });
    upstream.on('drain', () => upstream.session?.upstreamDrained());
    upstream.on('timeout', () => {
      if (upstream.session) upstream.session.upstreamFailed(upstream.connecting ? 'no connection within the connect timeout' : 'no answer within the response timeout');
      else socket.destroy();
    });
    upstream.on('error', (error) => upstream.session?.upstreamFailed(error.message));
    upstream.on('end', () => upstream.session?.upstreamFailed('closed the connection', true));
    upstream.on('close', () => {
      backend.dropIdle(socket);
      upstream.session?.upstreamFailed('closed the connection', true);
    });
  }
}
