/**
 * An HTTP published port of the node: its client sessions, its backends and their keep-alive
 * pools, and the events of every upstream connection (registered once per connection, routed to
 * the session using it, or handled here while it idles in a pool).
 */
import * as net from 'node:net';
import { Backend } from './backend.set';
import { HttpSession, UpstreamSocket } from './http.session';
import { PublishedPort } from './published.port';

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
      if (upstream.session) upstream.session.upstreamFailed(upstream.connecting ? 'no connection within the connect timeout' : 'no answer within the upstream timeout');
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
