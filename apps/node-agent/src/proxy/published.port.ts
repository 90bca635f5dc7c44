/** What an HTTP and a TCP published port share: their service, backends, metrics and settings. */
import type * as net from 'node:net';
import { BackendSet } from './backend.set';
import { ServiceTraffic } from './balancer.metrics';

export interface ProxyOptions {
  /** A backend that does not accept within this time is skipped for another. */
  connectTimeoutMs: number;
  /**
   * A connection to a backend silent this long fails the exchange using it (nginx's
   * proxy_read_timeout), or is closed if it idles in the pool.
   */
  upstreamTimeoutMs: number;
  /** Idle keep-alive connections of clients are closed after this time. */
  idleTimeoutMs: number;
}

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = { connectTimeoutMs: 2000, upstreamTimeoutMs: 60_000, idleTimeoutMs: 60_000 };

export abstract class PublishedPort {
  readonly backends = new BackendSet();
  /** The port is going away: no new work. */
  closing = false;

  constructor(
    readonly service: string,
    readonly traffic: ServiceTraffic,
    readonly options: ProxyOptions,
    readonly log: (line: string) => void,
  ) {}

  /** A client connection of the port's listener. */
  abstract accept(client: net.Socket): void;

  /** Stops new work; what is in flight finishes; idle backend connections close. */
  close(): void {
    this.closing = true;
    this.backends.update([]);
  }
}
