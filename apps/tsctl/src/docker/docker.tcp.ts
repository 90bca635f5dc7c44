/**
 * The Docker API on TCP with mutual TLS (`tsctl docker-serve --tcp HOST:PORT`): the serving certificate
 * is the cluster CA's, a client must present a certificate of the same CA (there is no plaintext
 * mode), and each client acts as itself: its calls reach the control plane with this server's
 * credential narrowed to the client's certificate (libs/auth forwarded.ts), through a DockerApi of
 * its own (its exec instances and --rm containers are its own).
 */
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { renewalDecision } from '@tide/pki';
import type { ApiClient } from '../api/api.client';
import { CommandError } from '../commands/command';
import type { DockerApi } from './docker.server';
import { formatTcpAddress, type SignedCertificate, type TcpAddress } from './docker.tls';

/** Time to finish the TLS handshake (a client that stalls holds no connection longer). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often the serving certificate's renewal is considered (a timer cannot sleep its whole life: 2^31 ms is 24 days). */
const RENEWAL_CHECK_MS = 3_600_000;

export class TcpDockerServer {
  private readonly callers = new Map<string, DockerApi>();

  private readonly server: https.Server;

  private renewal?: NodeJS.Timeout;

  constructor(private tls: SignedCertificate, private readonly api: ApiClient, private readonly dockerApiFor: (api: ApiClient) => DockerApi) {
    this.server = https.createServer({
      ...secureContextOf(tls),
      requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // `docker run` closes its side of an attach once it has no input (a TLS close_notify): the output
      // must still flow the other way, as on the unix socket (node:http's own server is half-open too).
      allowHalfOpen: true,
    }, (req, res) => this.callerOf(req.socket).handle(req, res));
    this.server.on('upgrade', (req, socket: Duplex, head: Buffer) => this.callerOf(req.socket).handleUpgrade(req, socket, head));
  }

  async listen(address: TcpAddress): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(address, error)));
      this.server.listen(address.port, address.host, () => resolve());
    });
  }

  /** The port listened on (the one given, or the kernel's choice for 0). */
  port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /**
   * Asks for a new serving certificate once a third of the current one's life is left (as the
   * agents renew theirs); new connections get it, open ones keep theirs. A failure is retried at the next check.
   */
  keepRenewed(issue: () => Promise<SignedCertificate>, note: (line: string) => void, everyMs = RENEWAL_CHECK_MS): void {
    this.renewal = setInterval(() => {
      if (!renewalDecision(this.tls.certificate).renew) return;
      issue().then((next) => {
        this.server.setSecureContext(secureContextOf(next));
        this.tls = next;
        note(`docker-serve: new serving certificate for TCP, valid until ${next.notAfter}`);
      }, (error: Error) => note(`warning: could not renew the serving certificate for TCP (${error.message}); trying again in an hour`));
    }, everyMs).unref();
  }

  close(): void {
    clearInterval(this.renewal);
    this.server.close();
    this.server.closeAllConnections();
  }

  /** The DockerApi of the certificate the TLS layer verified (one per certificate, kept while this server runs). */
  private callerOf(socket: unknown): DockerApi {
    const certificate = (socket as TLSSocket).getPeerCertificate();
    let api = this.callers.get(certificate.fingerprint256);
    if (!api) {
      api = this.dockerApiFor(this.api.forwarding(certificate.raw));
      this.callers.set(certificate.fingerprint256, api);
    }
    return api;
  }
}

/** The chain, leaf then CA, as the control plane serves it; client certificates checked against the same CA. */
function secureContextOf(tls: SignedCertificate): SecureContextOptions {
  return { cert: tls.certificate + tls.ca, key: tls.key, ca: tls.ca };
}

function listenError(address: TcpAddress, error: NodeJS.ErrnoException): Error {
  const where = formatTcpAddress(address);
  if (error.code === 'EADDRINUSE') return new CommandError(`--tcp: ${where} is already in use (another docker-serve or dockerd?): stop it or choose another port`);
  if (error.code === 'EADDRNOTAVAIL') return new CommandError(`--tcp: ${address.host} is no address of this machine: give one it has, or 0.0.0.0`);
  if (error.code === 'EACCES') return new CommandError(`--tcp: port ${address.port} needs privileges: choose a port above 1023 (docker's is 2376)`);
  return new CommandError(`--tcp: cannot listen on ${where} (${error.code ?? error.message})`);
}
