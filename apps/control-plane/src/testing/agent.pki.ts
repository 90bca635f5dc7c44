/**
 * Certificates for tests of the agents' gRPC endpoint: a fresh cluster CA, the server's pair, a
 * NodeEnrollment on the test's etcd, and node credentials made the way a joined agent's are (a CSR
 * for `system:node:<name>` signed and its serial recorded), or forged ones for refusal tests.
 */
import {
  createCertificateAuthority, createCertificateRequest, issueServerCertificate, nodeIdentity, type CertificateAuthority,
} from '@tide/pki';
import { ClusterCache, Etcd3, NodeCertificates, TokenStore } from '@tide/store';
import { AgentServerTls } from '../agent-service/agent.grpc';
import { NodeEnrollment } from '../node-identity/node.enrollment';
import { AgentCredentials } from './test-agent.grpc';

export interface AgentTestPki {
  ca: CertificateAuthority;
  server: AgentServerTls;
  enrollment: NodeEnrollment;
  /** Credentials of a node, as a join would give them (signed, recorded). */
  node(name: string): Promise<AgentCredentials>;
}

export async function agentTestPki(client: Etcd3, cache: ClusterCache, options: { validityMs?: number } = {}): Promise<AgentTestPki> {
  const ca = await createCertificateAuthority();
  const serving = await issueServerCertificate(ca, { commonName: 'tide-control-plane', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const enrollment = new NodeEnrollment({
    ca: () => ca, records: new NodeCertificates(client), tokens: new TokenStore(client),
    serials: (node) => cache.nodeCertificateSerials(node), grpcListen: '127.0.0.1:0', ...options,
  });
  return {
    ca,
    server: { ca: ca.certificatePem, certificate: serving.certificatePem, key: serving.key.toPem() },
    enrollment,
    async node(name) {
      const request = await createCertificateRequest(nodeIdentity(name));
      const signed = await enrollment.renew(name, request.csrPem);
      if (!signed.ok) throw new Error(signed.reason);
      // The endpoint checks serials against the cache: wait until it has this one.
      for (const deadline = Date.now() + 10_000; !cache.nodeCertificateSerials(name)?.includes(signed.value.serialNumber);) {
        if (Date.now() > deadline) throw new Error(`the cache never saw the certificate of ${name}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return { ca: ca.certificatePem, certificate: signed.value.certificate, key: request.key.toPem() };
    },
  };
}
