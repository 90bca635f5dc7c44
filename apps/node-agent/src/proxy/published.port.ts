/** What an HTTP and a TCP published port share: their service, backends, metrics and settings. */
import type * as net from 'node:net';
import { BackendSet } from './backend.set';
import { ServiceTraffic } from './balancer.metrics';

export interface ProxyOptions {
  /**
   * A backend that does not accept within this time is skipped for another. 1 s: a connect across a
   * LAN takes well under a millisecond, and a SYN still unanswered after 1 s (its first
   * retransmission) is lost or unanswered, most likely by a host that is down: another replica is
   * the better bet, and trying it is safe since nothing was sent.
   */
  connectTimeoutMs: number;
  /**
   * A connection to a backend silent this long fails the exchange using it (nginx's
   * proxy_read_timeout), or is closed if it idles in the pool.
   */
  upstreamTimeoutMs: number;
  /** Idle keep-alive connections of clients are closed after this time. */
  idleTimeoutMs: number;
  /**
   * HTTP: requests one listener has outstanding at a replica at most; more wait in the listener's
   * queue for the first replica with room (0: no limit, the replicas queue them).
   */
  maxRequestsPerReplica: number;
  /** HTTP: requests waiting in a listener's queue at most; one more is answered 503 at once. */
  queueLength: number;
  /**
   * HTTP: a request without the head of its answer this long after its own head arrived is
   * answered by the balancer: 503 with Retry-After if no replica has it (queued) or it is
   * idempotent, else 504 (0: no deadline; the upstream timeout still applies).
   */
  requestDeadlineMs: number;
  /** The Retry-After of the balancer's own 503s, in seconds. */
  retryAfterSeconds: number;
}

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = {
  connectTimeoutMs: 1000, upstreamTimeoutMs: 60_000, idleTimeoutMs: 60_000,
  maxRequestsPerReplica: 64, queueLength: 1024, requestDeadlineMs: 15_000, retryAfterSeconds: 1,
};

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
