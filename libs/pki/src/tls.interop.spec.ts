import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { identityFromTlsSubject, subjectFromCertificate } from '@tide/auth';
import { createCertificateAuthority } from './ca';
import { createCertificateRequest, signCertificateRequest } from './csr';
import { controlPlaneIdentity, nodeIdentity } from './identity';
import { issueClientCertificate, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from './issue';
import { caPin, certificatePemFromDer, trustPresentedChain } from './pin';
import { describeCertificate } from './certificate.info';
import { renewalDecision } from './validity';

// Real TLS (Node's OpenSSL) with certificates from this lib: what the API server, the agents' gRPC
// and etcd will do with them. Servers listen on 127.0.0.1, an ephemeral port each.

interface Server { port: number; server: https.Server; close(): Promise<void> }

// Answers who the client is, and (for a server that does not reject) why OpenSSL did not verify it.
async function serve(options: https.ServerOptions): Promise<Server> {
  const server = https.createServer(options, (request, response) => {
    const socket = request.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    const body: Record<string, unknown> = { cn: peer?.subject?.CN ?? null, o: peer?.subject?.O ?? null };
    // What the API adapter will do with a verified peer: libs/auth names the caller.
    if (socket.authorized) body.subject = subjectFromCertificate(identityFromTlsSubject(peer.subject));
    if (socket.authorizationError) body.refused = String(socket.authorizationError);
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Runs `use` against a server that lives only for it. */
async function withServer<T>(options: https.ServerOptions, use: (port: number) => Promise<T>): Promise<T> {
  const server = await serve(options);
  try {
    return await use(server.port);
  } finally {
    await server.close();
  }
}

/** GETs / and answers the body, or the error code of a refused connection. */
function get(port: number, options: https.RequestOptions): Promise<{ body?: string; error?: string }> {
  return new Promise((resolve) => {
    const request = https.request({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ body }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    request.end();
  });
}

const tlsOf = (issued: IssuedCertificate) => ({ cert: issued.certificatePem, key: issued.key.toPem() });

describe('TLS interop (node:https)', () => {
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let server: Server;
  let mutual: Server;
  let inspecting: Server;
  let nodeCert: IssuedCertificate;

  before(async () => {
    ca = await createCertificateAuthority();
    otherCa = await createCertificateAuthority();
    const api = await issueServerCertificate(ca, { commonName: 'tide-api', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    // The chain (leaf + CA) is sent so that a joining agent can pin the CA by hash.
    server = await serve({ cert: api.certificatePem + ca.certificatePem, key: api.key.toPem() });
    mutual = await serve({ ...tlsOf(api), ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true });
    inspecting = await serve({ ...tlsOf(api), ca: ca.certificatePem, requestCert: true, rejectUnauthorized: false });
    const request = await createCertificateRequest(nodeIdentity('node-1'));
    const signed = await signCertificateRequest(ca, request.csrPem, { allowedIdentity: nodeIdentity('node-1') });
    assert.ok(signed.ok);
    nodeCert = { certificatePem: signed.value, key: request.key };
  });
  after(async () => {
    await server?.close();
    await mutual?.close();
    await inspecting?.close();
  });

  it('a client holding the cluster CA reaches the server by IP and by name', async () => {
    assert.deepEqual(await get(server.port, { ca: ca.certificatePem }), { body: '{"cn":null,"o":null}' });
    assert.ok((await get(server.port, { ca: ca.certificatePem, host: 'localhost' })).body);
  });

  it('a client holding another CA refuses the server', async () => {
    // The server sends its chain, so OpenSSL sees a CA it does not trust in it.
    assert.deepEqual(await get(server.port, { ca: otherCa.certificatePem }), { error: 'SELF_SIGNED_CERT_IN_CHAIN' });
  });

  it('a server certificate without the dialled address is refused', async () => {
    const elsewhere = await issueServerCertificate(ca, { commonName: 'tide-api', dnsNames: ['tide.example'], ipAddresses: ['127.0.0.2'] });
    const answer = await withServer(tlsOf(elsewhere), (port) => get(port, { ca: ca.certificatePem }));
    assert.deepEqual(answer, { error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('an expired server certificate is refused', async () => {
    const longAgo = new Date(Date.now() - 400 * 86_400_000);
    const expired = await issueServerCertificate(ca, { commonName: 'old', ipAddresses: ['127.0.0.1'], now: longAgo, validityMs: 30 * 86_400_000 });
    const answer = await withServer(tlsOf(expired), (port) => get(port, { ca: ca.certificatePem }));
    assert.deepEqual(answer, { error: 'CERT_HAS_EXPIRED' });
  });

  it('mutual TLS: the node certificate from a CSR is accepted and names the node', async () => {
    const result = await get(mutual.port, { ca: ca.certificatePem, ...tlsOf(nodeCert) });
    assert.deepEqual(JSON.parse(result.body ?? '{}'), { cn: 'system:node:node-1', o: 'system:nodes', subject: { kind: 'node', name: 'node-1' } });
    const controlPlane = await issueClientCertificate(ca, controlPlaneIdentity());
    assert.deepEqual(JSON.parse((await get(mutual.port, { ca: ca.certificatePem, ...tlsOf(controlPlane) })).body ?? '{}'),
      { cn: 'system:tide-control-plane', o: 'system:masters', subject: { kind: 'control-plane' } });
  });

  it('mutual TLS refuses no certificate, another CA\'s, an expired one and a server certificate used as client', async () => {
    const foreign = await issueClientCertificate(otherCa, nodeIdentity('node-1'));
    const longAgo = new Date(Date.now() - 400 * 86_400_000);
    const expired = await issueClientCertificate(ca, nodeIdentity('node-1'), { now: longAgo, validityMs: 30 * 86_400_000 });
    const serverOnly = await issueServerCertificate(ca, { commonName: 'system:node:node-1', ipAddresses: ['127.0.0.1'] });
    const cases: Array<[string, https.RequestOptions, string]> = [
      ['no certificate', {}, 'UNABLE_TO_GET_ISSUER_CERT'],
      ['another CA', tlsOf(foreign), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ['expired', tlsOf(expired), 'CERT_HAS_EXPIRED'],
      ['server-only usage', tlsOf(serverOnly), 'INVALID_PURPOSE'],
    ];
    for (const [name, options, reason] of cases) {
      const refused = await get(mutual.port, { ca: ca.certificatePem, ...options });
      assert.equal(refused.body, undefined, `${name}: the handler must not run`);
      assert.ok(refused.error, name);
      // The same client against a server that lets it in says why OpenSSL refused it.
      const seen = JSON.parse((await get(inspecting.port, { ca: ca.certificatePem, ...options })).body ?? '{}');
      assert.equal(seen.refused, reason, name);
    }
    assert.equal(JSON.parse((await get(inspecting.port, { ca: ca.certificatePem, ...tlsOf(nodeCert) })).body ?? '{}').refused, undefined);
  });

  it('a server rotates to a renewed certificate without a restart', async () => {
    const DAY = 86_400_000;
    const first = await issueServerCertificate(ca, { commonName: 'api', ipAddresses: ['127.0.0.1'], validityMs: 3 * DAY });
    const rotating = await serve(tlsOf(first));
    try {
      assert.equal(await servedSerial(rotating.port, ca.certificatePem), describeCertificate(first.certificatePem).serialNumber);
      assert.equal(renewalDecision(first.certificatePem, new Date(Date.now() + 2.5 * DAY)).renew, true, 'due with less than a third left');
      const renewed = await issueServerCertificate(ca, { commonName: 'api', ipAddresses: ['127.0.0.1'] });
      rotating.server.setSecureContext(tlsOf(renewed));
      assert.equal(await servedSerial(rotating.port, ca.certificatePem), describeCertificate(renewed.certificatePem).serialNumber);
    } finally {
      await rotating.close();
    }
  });

  it('join: an agent that knows only the pin trusts the real server and refuses a man in the middle', async () => {
    const pin = caPin(ca.certificatePem);
    assert.ok(trustPresentedChain(await presentedChain(server.port), [pin]).ok);
    const mitmCa = await createCertificateAuthority();
    const mitmCert = await issueServerCertificate(mitmCa, { commonName: 'tide-api', ipAddresses: ['127.0.0.1'] });
    const mitm = { cert: mitmCert.certificatePem + mitmCa.certificatePem, key: mitmCert.key.toPem() };
    const refused = trustPresentedChain(await withServer(mitm, presentedChain), [pin]);
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.reason, /not the pinned/);
  });
});

/** The serial number of the certificate a server presents to a client that trusts `caPem`. */
function servedSerial(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port, agent: false, ca: caPem }, (response) => {
      response.resume();
      resolve((response.socket as TLSSocket).getPeerCertificate().serialNumber.toLowerCase());
    });
    request.on('error', reject);
    request.end();
  });
}

/** The chain a server presents, read without trusting it (the first step of a join). */
function presentedChain(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port, agent: false, rejectUnauthorized: false }, (response) => {
      const chain: string[] = [];
      let certificate = (response.socket as TLSSocket).getPeerCertificate(true);
      while (certificate?.raw && !chain.includes(certificatePemFromDer(certificate.raw))) {
        chain.push(certificatePemFromDer(certificate.raw));
        certificate = certificate.issuerCertificate;
      }
      response.resume();
      resolve(chain);
    });
    request.on('error', reject);
    request.end();
  });
}
