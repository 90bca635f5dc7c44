/**
 * The agent's HTTPS: its serving certificate (for the node's address, from the cluster CA) and the
 * CA that client certificates must come from. Client certificates are asked for, not required:
 * Prometheus may come with a token instead (agent.auth.ts checks whichever was sent). The files are
 * read again when they change, so a renewed certificate is served without a restart.
 */
import * as fs from 'node:fs';
import type * as https from 'node:https';
import type * as tls from 'node:tls';
import { readCertificateFile, readKeyFile } from '@tide/pki';

export interface AgentTlsFiles {
  /** `--tls-cert-file`: the serving certificate (PEM). */
  certificate: string;
  /** `--tls-private-key-file`: its key (PEM, 0600). */
  key: string;
  /** `--client-ca-file`: the cluster CA, which client certificates and the control plane's serving certificate come from. */
  clientCa: string;
}

export interface AgentTls {
  options: tls.SecureContextOptions;
  /** The cluster CA (PEM): also what the agent trusts when it calls the control plane. */
  caPem: string;
}

/** Time to finish the TLS handshake, then to send the whole request head (a deadline, not an idle timer). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request, body included (an image upload over a slow link). */
export const REQUEST_TIMEOUT_MS = 15 * 60_000;
/** How often the files are looked at for a renewed certificate. */
const RELOAD_CHECK_MS = 30_000;

export async function loadAgentTls(files: AgentTlsFiles): Promise<AgentTls> {
  const cert = await readCertificateFile(files.certificate);
  const key = await readKeyFile(files.key); // refused when other users can read it
  const caPem = await readCertificateFile(files.clientCa);
  return { options: { cert, key: key.toPem(), ca: caPem, minVersion: 'TLSv1.2' }, caPem };
}

export function agentServerOptions(agentTls: AgentTls): https.ServerOptions {
  return {
    ...agentTls.options,
    requestCert: true,
    rejectUnauthorized: false, // a scrape with a token carries no certificate; agent.auth.ts checks `authorized`
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    // How often Node enforces headersTimeout/requestTimeout (default 30 s, which would triple the deadline).
    connectionsCheckingInterval: 1000,
  } as https.ServerOptions;
}

/**
 * Swaps a renewed certificate (or CA) into the running server when one of the files changes:
 * connections made afterwards get the new one. A file that cannot be read (half-renewed, a bad
 * mode) or a key that does not match the certificate keeps the old one and is reported; it is tried
 * again at the next check. Returns what stops the checks.
 */
export function reloadOnChange(
  server: tls.Server, files: AgentTlsFiles, onReload: (next: AgentTls) => void, warn: (line: string) => void, checkEveryMs = RELOAD_CHECK_MS,
): () => void {
  const stamp = () => [files.certificate, files.key, files.clientCa].map((file) => {
    try {
      const stat = fs.statSync(file);
      return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch {
      return 'missing';
    }
  }).join('|');
  let seen = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === seen) return;
    // setSecureContext throws for a key that does not belong to the certificate: a renewal caught
    // between its two writes. That too keeps the current one, and the next check tries again.
    loadAgentTls(files).then((next) => {
      server.setSecureContext(next.options);
      onReload(next);
      seen = now;
    }).catch((error: Error) => warn(`keeping the current serving certificate: ${error.message}`));
  }, checkEveryMs);
  timer.unref();
  return () => clearInterval(timer);
}
