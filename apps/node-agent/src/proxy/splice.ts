/**
 * Joins a client's connection to an upstream one in both directions; when either ends or fails,
 * both are destroyed and `ended` runs once.
 */
import type * as net from 'node:net';

export function splice(client: net.Socket, upstream: net.Socket, ended: () => void = () => undefined): void {
  let open = true;
  const done = () => {
    if (!open) return;
    open = false;
    ended();
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', done);
  upstream.on('close', done);
  client.on('close', done);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
}
