/** Certificates swapped into a running gRPC server and channel: the next connection uses them, the process stays. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@tide/pki';
import { RotatingCertificates, rotatingServerCredentials } from './certificate.provider';

async function servingPair(ca: CertificateAuthority): Promise<{ ca: string; certificate: string; key: string }> {
  const issued = await issueServerCertificate(ca, { commonName: 'tide-control-plane', ipAddresses: ['127.0.0.1'] });
  return { ca: ca.certificatePem, certificate: issued.certificatePem, key: issued.key.toPem() };
}

/** The serial of the certificate a new connection is served, presenting `client`. */
function servedSerial(port: number, ca: string, client: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ...client, ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().serialNumber.toLowerCase());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('RotatingCertificates (gRPC server)', () => {
  let ca: CertificateAuthority;
  let client: { cert: string; key: string };
  let certificates: RotatingCertificates;
  let server: grpc.Server;
  let port: number;

  before(async () => {
    ca = await createCertificateAuthority();
    const issued = await issueClientCertificate(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
    client = { cert: issued.certificatePem, key: issued.key.toPem() };
    certificates = new RotatingCertificates(await servingPair(ca));
    server = new grpc.Server();
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', rotatingServerCredentials(certificates),
      (error, bound) => (error ? reject(error) : resolve(bound))));
  });
  after(() => server.forceShutdown());

  it('serves the certificate given last to new connections', async () => {
    const first = await servedSerial(port, ca.certificatePem, client);
    const next = await servingPair(ca);
    certificates.update(next);
    const second = await servedSerial(port, ca.certificatePem, client);
    assert.notEqual(second, first);
    assert.equal(second, new X509Certificate(next.certificate).serialNumber.toLowerCase());
  });
});
