/**
 * The API's TLS: the serving certificate from STATE/pki, client certificates asked for (not required:
 * tokens need none) and checked against the cluster CA, the server's names for the Host check, the
 * deadlines that cut off slow clients (renewal: pki/certificate.rotation.ts and ApiServer.reloadTls).
 */
import type * as https from 'node:https';
import {
  certificateNames, readCertificateFile, readKeyFile, type ClusterPkiLayout,
} from '@tide/pki';

export interface ApiTls {
  options: https.ServerOptions;
  /** The serving certificate's DNS names and addresses: the Host headers the API answers. */
  names: string[];
  certificatePem: string;
}

/** Time to finish the TLS handshake and then to send the whole request head: a deadline, not an idle timer. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const CONNECTIONS_CHECK_MS = 1_000;
/** The whole request, body included (an image upload over a slow link may take a while). */
export const REQUEST_TIMEOUT_MS = 15 * 60_000;

export async function loadApiTls(layout: ClusterPkiLayout): Promise<ApiTls> {
  const certificatePem = await readCertificateFile(layout.serverCertificate);
  const key = await readKeyFile(layout.serverKey);
  const ca = await readCertificateFile(layout.caCertificate);
  return {
    options: {
      // The chain, leaf then CA: a joining agent that knows only the CA's pin (--ca-hash) finds the CA in it.
      cert: certificatePem + ca, key: key.toPem(), ca,
      requestCert: true, rejectUnauthorized: false,
      minVersion: 'TLSv1.2', handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // How often Node enforces headersTimeout/requestTimeout (default 30 s, which would triple the deadline).
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    } as https.ServerOptions,
    names: certificateNames(certificatePem),
    certificatePem,
  };
}

/**
 * Node's deadlines for a request: `headersTimeout` runs from the first byte to the end of the head
 * and is not reset by more bytes (a client trickling one header byte a second is still cut off),
 * `requestTimeout` likewise for the whole request.
 */
export function applyRequestDeadlines(server: https.Server): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
}
