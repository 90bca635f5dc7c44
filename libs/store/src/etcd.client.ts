/**
 * The etcd client every Tide process uses, with fault handling that keeps one failing call from
 * stopping all the others.
 *
 * etcd3's default counts every "recoverable" error of any call (a response over the message limit,
 * a deadline, an aborted or cancelled call) towards one circuit breaker per host, after retrying it
 * three times: with one etcd, a single oversized list opened the breaker at once and every etcd call
 * of the control plane was then refused ("circuit breaker is open") until it closed, to open again
 * on the next attempt. Here only the host being unreachable counts: an individual call's failure
 * (too large, a conflict, a deadline) is that call's error and nothing else.
 */
import * as fs from 'node:fs';
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, GRPCUnavailableError, IOptions } from 'etcd3';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { RotatingCertificates, rotatingChannelCredentials, type PemCredentials } from '@tide/proto';

/** Consecutive "host unreachable" failures after which calls skip the host for a moment. */
export const HOST_FAILURES_TO_OPEN = 5;
/** How long an open host circuit stays open before one call may try the host again. */
export const HOST_HALF_OPEN_AFTER_MS = 1000;

/**
 * A watch cannot be paged: after a pause etcd may catch a watcher up with the events of up to a
 * thousand revisions in one message (each scheduler transaction writes up to 120 keys). Lists are
 * paged (paged.range.ts) and stay far below this; the default (4 MiB) would break the watch instead.
 */
export const MAX_RECEIVE_BYTES = 256 * 2 ** 20;

/**
 * HTTP/2 flow control window of the etcd connection (connection and streams). With the default
 * (64 KiB) etcd can send only that much before the client acknowledges it: under a burst of
 * transactions (100 replicas, ~100 KiB each) the watch fell 100-400 ms behind the writes it
 * reports, measured, while the client sat idle. At 16 MiB it stays within a few milliseconds.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 16 * 2 ** 20;

/**
 * Every etcd call that is not a stream (watches, lease keep-alives) has this deadline: with etcd
 * paused or partitioned a call fails after it instead of hanging (etcd.errors.ts: a write then has
 * an unknown outcome). Long enough for a 1 MiB transaction on a busy etcd.
 */
export const ETCD_CALL_DEADLINE_MS = 5000;

/** True for the errors that mean the host itself cannot be reached (connection refused, reset, down). */
export function isHostUnreachable(error: Error): boolean {
  return error instanceof GRPCUnavailableError;
}

/** etcd3's `faultHandling` option: per-host breaker and global retry on unreachable hosts only. */
export function tideFaultHandling(): NonNullable<IOptions['faultHandling']> {
  const unreachable = handleWhen(isHostUnreachable);
  return {
    // A real outage: after a few failures in a row the host is skipped (another one is tried when
    // there are several), then one call probes it again.
    host: () => circuitBreaker(unreachable, { halfOpenAfter: HOST_HALF_OPEN_AFTER_MS, breaker: new ConsecutiveBreaker(HOST_FAILURES_TO_OPEN) }),
    // Each retry picks another host; writes are compare-and-swap, so a retried one cannot apply twice.
    global: retry(unreachable, { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) }),
  };
}

export function createEtcdClient(hosts: string | string[], options: Partial<IOptions> = {}): Etcd3 {
  return new Etcd3({
    ...options,
    hosts,
    faultHandling: { ...tideFaultHandling(), ...options.faultHandling },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + ETCD_CALL_DEADLINE_MS }),
    grpcOptions: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES, 'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES, ...options.grpcOptions },
  });
}

/** The files of a TLS etcd client (libs/pki etcdPkiLayout: etcd's CA and the control plane's client certificate). */
export interface EtcdClientFiles {
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
}

/**
 * etcd3's `credentials` from files: the CA that signed etcd's serving certificate, and the client
 * certificate etcd asks for (`--client-cert-auth`). Read once: `createTlsEtcdClient` takes renewals.
 */
export function etcdClientCredentials(files: EtcdClientFiles): NonNullable<IOptions['credentials']> {
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new Error(`etcd ${what} ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  return { rootCertificate: read(files.caCertificate, 'CA'), certChain: read(files.clientCertificate, 'client certificate'), privateKey: read(files.clientKey, 'client key') };
}

function readClientFiles(files: EtcdClientFiles): PemCredentials {
  const { rootCertificate, certChain, privateKey } = etcdClientCredentials(files);
  return { ca: rootCertificate.toString(), certificate: String(certChain), key: String(privateKey) };
}

/** An etcd client over TLS whose client certificate can be renewed while it runs. */
export interface TlsEtcdClient {
  client: Etcd3;
  /** Reads the files again: connections made afterwards (a reconnect, a new host) present the new certificate. */
  reload(): void;
}

/**
 * etcd checks a client certificate at the handshake only, so an open connection outlives a renewal;
 * what must change is what the next connection presents (after an etcd restart, a network cut). etcd3
 * builds its channel credentials once from the buffers it is given; here each host's are replaced, before
 * its first call, with credentials that take the certificate `reload` last read for every new connection.
 */
export function createTlsEtcdClient(hosts: string | string[], files: EtcdClientFiles, options: Partial<IOptions> = {}): TlsEtcdClient {
  const certificates = new RotatingCertificates(readClientFiles(files));
  const client = createEtcdClient(hosts, { ...options, credentials: etcdClientCredentials(files) });
  useChannelCredentials(client, rotatingChannelCredentials(certificates));
  return { client, reload: () => certificates.update(readClientFiles(files)) };
}

function useChannelCredentials(client: Etcd3, credentials: ChannelCredentials): void {
  // etcd3 1.1 keeps its hosts in the (protected) connection pool; a version that moved them fails here, at start.
  const pool = (client as unknown as { pool?: { hosts?: Array<{ channelCredentials?: ChannelCredentials }> } }).pool;
  const hosts = pool?.hosts ?? [];
  if (hosts.length === 0 || hosts.some((host) => host.channelCredentials === undefined)) {
    throw new Error('etcd3 no longer keeps channel credentials per host: the etcd client certificate cannot be renewed in place (libs/store etcd.client.ts)');
  }
  for (const host of hosts) host.channelCredentials = credentials;
}
