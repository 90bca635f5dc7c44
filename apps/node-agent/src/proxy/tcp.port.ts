/**
 * A TCP published port: each client connection is forwarded whole to one backend, the less busy
 * of two random ones by open connections; a backend that refuses (or does not accept in time) is
 * skipped for another before any byte is sent. Half-close aware both ways.
 */
import * as net from 'node:net';
import { Backend, isUnreachable } from './backend.set';
import { PublishedPort } from './published.port';
import { splice } from './splice';

/** Closing the port leaves established connections alone (a TCP stream cannot be moved). */
export class TcpPort extends PublishedPort {
  accept(client: net.Socket): void {
    this.traffic.connections++;
    client.pause(); // nothing is lost while the upstream connects
    client.on('error', () => client.destroy());
    this.connect(client, []);
  }

  private connect(client: net.Socket, tried: Backend[]): void {
    if (client.destroyed) return;
    const backend = this.backends.pick(tried);
    if (!backend) {
      if (tried.length === 0) this.log(`${this.service}: no ready replica for a connection`);
      client.destroy();
      return;
    }
    backend.outstanding++;
    const upstream = net.connect({ host: backend.host, port: backend.port, allowHalfOpen: true, noDelay: true, timeout: this.options.connectTimeoutMs });
    const retry = (why: string, unreachable: boolean) => {
      upstream.destroy();
      backend.outstanding--;
      this.traffic.backendFailures++;
      this.backends.connectFailed(backend, unreachable);
      this.log(`${this.service}: ${backend.replica || backend.key}: ${why}; trying another replica`);
      this.connect(client, [...tried, backend]);
    };
    const onError = (error: Error) => retry(error.message, isUnreachable(error));
    const onTimeout = () => retry('no connection within the connect timeout', true);
    upstream.once('error', onError);
    upstream.once('timeout', onTimeout);
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      upstream.removeListener('error', onError);
      upstream.removeListener('timeout', onTimeout);
      splice(client, upstream, () => backend.outstanding--);
    });
  }
}
