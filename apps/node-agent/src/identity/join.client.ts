/**
 * The agent's half of a join (kubeadm's discovery, then its TLS bootstrap): read the chain the
 * control plane's HTTPS API presents without trusting it yet, find in it the CA whose key matches the
 * pinned hash (`--ca-hash`; anything else is a man in the middle or the wrong cluster, and nothing
 * is sent), then over TLS that trusts only that CA send the join token and a CSR for the node's name.
 * The key is made here and never leaves the node.
 */
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { certificatePemFromDer, createCertificateRequest, nodeIdentity, trustPresentedChain, type PrivateKey } from '@tide/pki';

export class JoinError extends Error {
  override readonly name = 'JoinError';
}

export interface JoinRequest {
  nodeName: string;
  token: string;
  /** `sha256:…`, as `tsctl token create --join` prints it. */
  caHash: string;
  /** HOST:PORT of the control plane's HTTPS API. */
  apiServer: string;
  /** The node's address: with it, a serving certificate for the agent's HTTPS endpoint comes too. */
  address?: string;
}

export interface JoinedIdentity {
  ca: string;
  certificate: string;
  key: PrivateKey;
  /** The agent's HTTPS certificate (serverAuth, the node's address) and its own key. */
  serving?: { certificate: string; key: PrivateKey };
}

const TIMEOUT_MS = 15_000;

export async function joinCluster(request: JoinRequest): Promise<JoinedIdentity> {
  const { host, port } = hostPort(request.apiServer);
  const chain = await presentedChain(host, port);
  const trusted = trustPresentedChain(chain, [request.caHash]);
  if (!trusted.ok) throw new JoinError(`refusing to join through ${request.apiServer}: ${trusted.reason} (check --ca-hash: tsctl token create --join prints it)`);
  const csr = await createCertificateRequest(nodeIdentity(request.nodeName));
  const servingCsr = request.address ? await createCertificateRequest(nodeIdentity(request.nodeName), { ipAddresses: [request.address] }) : undefined;
  const answer = await post(host, port, trusted.value.caPem, request.token, {
    nodeName: request.nodeName, csr: csr.csrPem, ...(servingCsr ? { servingCsr: servingCsr.csrPem, address: request.address } : {}),
  });
  if (servingCsr && !answer.servingCertificate) throw new JoinError('the control plane answered the join without the serving certificate asked for');
  return {
    ca: trusted.value.caPem, certificate: answer.certificate, key: csr.key,
    ...(servingCsr && answer.servingCertificate ? { serving: { certificate: answer.servingCertificate, key: servingCsr.key } } : {}),
  };
}

function hostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) throw new JoinError(`--api-server: expected HOST:PORT, got "${address}"`);
  return { host: match[1], port: Number(match[2]) };
}

/** The certificates the server sends, leaf first, read before trusting any of them (nothing is sent but the handshake). */
function presentedChain(host: string, port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port, path: '/healthz', method: 'HEAD', agent: false, rejectUnauthorized: false, timeout: TIMEOUT_MS }, (response) => {
      const chain: string[] = [];
      let certificate = (response.socket as TLSSocket).getPeerCertificate(true);
      while (certificate?.raw && !chain.includes(certificatePemFromDer(certificate.raw))) {
        chain.push(certificatePemFromDer(certificate.raw));
        certificate = certificate.issuerCertificate;
      }
      response.resume();
      resolve(chain);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (error) => reject(new JoinError(`cannot reach the control plane's API at ${host}:${port}: ${error.message}`)));
    req.end();
  });
}

function post(host: string, port: number, ca: string, token: string, body: object): Promise<{ certificate: string; servingCertificate?: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host, port, path: '/api/v1/join', method: 'POST', agent: false, ca, timeout: TIMEOUT_MS,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${token}` },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let parsed: { certificate?: string; servingCertificate?: string; error?: string } = {};
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          /* reported below */
        }
        if (response.statusCode === 200 && typeof parsed.certificate === 'string') return resolve({ certificate: parsed.certificate, ...(typeof parsed.servingCertificate === 'string' ? { servingCertificate: parsed.servingCertificate } : {}) });
        reject(new JoinError(`the control plane refused the join (${response.statusCode}): ${parsed.error ?? text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (error) => reject(new JoinError(`join request to ${host}:${port} failed: ${error.message}`)));
    req.end(payload);
  });
}
